package provider

import (
	"context"
	"net/url"
	"strings"

	"github.com/tether-dev/tether/internal/notify"
)

// Slack posts to an incoming webhook (https://api.slack.com/messaging/webhooks):
// a JSON object whose "text" is the notification's fallback (the title) and
// one attachment, coloured by severity, holding the title (linked to the
// app when a URL is known) and the lines as mrkdwn section blocks. The
// webhook URL is the Secret's "address".
type Slack struct {
	url  *url.URL
	post *poster
}

var _ notify.Provider = (*Slack)(nil)

// slackMaxText is Slack's limit for a section block's text.
const slackMaxText = 3000

func newSlack(cfg Config) (*Slack, error) {
	u, err := secretAddress(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("slack", cfg)
	if err != nil {
		return nil, err
	}
	return &Slack{url: u, post: p}, nil
}

// Send posts one message.
func (s *Slack) Send(ctx context.Context, e notify.Event) error {
	return s.post.postJSON(ctx, s.url, nil, slackMessage(e))
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type string     `json:"type"`
	Text *slackText `json:"text,omitempty"`
}

type slackAttachment struct {
	Color    string       `json:"color"`
	Fallback string       `json:"fallback"`
	Blocks   []slackBlock `json:"blocks"`
}

type slackPayload struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

func slackMessage(e notify.Event) slackPayload {
	title := "*" + slackEscape(e.Title()) + "*"
	if e.URL != "" {
		title = "*<" + e.URL + "|" + slackEscape(e.Title()) + ">*"
	}
	lines := make([]string, 0, len(e.Lines()))
	for _, l := range e.Lines() {
		if l != e.URL {
			lines = append(lines, slackEscape(l))
		}
	}
	return slackPayload{
		Text: e.Title(),
		Attachments: []slackAttachment{{
			Color:    severityColor(e.Severity),
			Fallback: e.Text(),
			Blocks: []slackBlock{
				{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(title, slackMaxText)}},
				{Type: "section", Text: &slackText{Type: "mrkdwn", Text: truncate(strings.Join(lines, "\n"), slackMaxText)}},
			},
		}},
	}
}

// slackEscape escapes the three characters mrkdwn gives a meaning to
// (https://api.slack.com/reference/surfaces/formatting#escaping).
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
