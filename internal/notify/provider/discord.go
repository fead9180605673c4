package provider

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/tether-dev/tether/internal/notify"
)

// Discord executes a webhook (https://discord.com/developers/docs/resources/webhook#execute-webhook):
// {"username": "Tether", "embeds": [{title, description, url, color}]},
// with mentions disabled so that an object or commit subject can never
// ping @everyone. Discord answers 204. The webhook URL is the Secret's
// "address".
type Discord struct {
	url  *url.URL
	post *poster
}

var _ notify.Provider = (*Discord)(nil)

// Discord's embed limits.
const (
	discordMaxTitle       = 256
	discordMaxDescription = 4096
)

func newDiscord(cfg Config) (*Discord, error) {
	u, err := secretAddress(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("discord", cfg)
	if err != nil {
		return nil, err
	}
	return &Discord{url: u, post: p}, nil
}

// Send posts one message.
func (d *Discord) Send(ctx context.Context, e notify.Event) error {
	return d.post.postJSON(ctx, d.url, nil, discordMessage(e))
}

type discordEmbed struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
	Color       int    `json:"color"`
}

type discordPayload struct {
	Username        string         `json:"username"`
	Embeds          []discordEmbed `json:"embeds"`
	AllowedMentions struct {
		Parse []string `json:"parse"`
	} `json:"allowed_mentions"`
}

func discordMessage(e notify.Event) discordPayload {
	color, _ := strconv.ParseInt(strings.TrimPrefix(severityColor(e.Severity), "#"), 16, 32)
	p := discordPayload{Username: "Tether", Embeds: []discordEmbed{{
		Title:       truncate(e.Title(), discordMaxTitle),
		Description: truncate(strings.Join(e.Lines(), "\n"), discordMaxDescription),
		URL:         e.URL,
		Color:       int(color),
	}}}
	p.AllowedMentions.Parse = []string{}
	return p
}
