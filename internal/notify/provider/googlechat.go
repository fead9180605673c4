package provider

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/tether-dev/tether/internal/notify"
)

// GoogleChat posts to a space's incoming webhook
// (https://developers.google.com/workspace/chat/quickstart/webhooks): a
// text message, {"text": "*title*\nlines"}, with Content-Type
// "application/json; charset=UTF-8" as the documentation shows. The
// webhook URL (with its key and token) is the Secret's "address".
type GoogleChat struct {
	url  *url.URL
	post *poster
}

var _ notify.Provider = (*GoogleChat)(nil)

// googleChatMaxText is Google Chat's limit for a message's text.
const googleChatMaxText = 4096

func newGoogleChat(cfg Config) (*GoogleChat, error) {
	u, err := secretAddress(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("googlechat", cfg)
	if err != nil {
		return nil, err
	}
	return &GoogleChat{url: u, post: p}, nil
}

// Send posts one message.
func (g *GoogleChat) Send(ctx context.Context, e notify.Event) error {
	h := http.Header{"Content-Type": {"application/json; charset=UTF-8"}}
	return g.post.postJSON(ctx, g.url, h, googleChatMessage(e))
}

type googleChatPayload struct {
	Text string `json:"text"`
}

func googleChatMessage(e notify.Event) googleChatPayload {
	title := "*" + e.Title() + "*"
	if e.URL != "" {
		title = "*<" + e.URL + "|" + e.Title() + ">*"
	}
	lines := []string{title}
	for _, l := range e.Lines() {
		if l != e.URL { // linked in the title instead
			lines = append(lines, l)
		}
	}
	return googleChatPayload{Text: truncate(strings.Join(lines, "\n"), googleChatMaxText)}
}
