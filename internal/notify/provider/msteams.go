package provider

import (
	"context"
	"net/url"

	"github.com/tether-dev/tether/internal/apis/v1alpha1"
	"github.com/tether-dev/tether/internal/notify"
)

// MSTeams posts to a Teams workflow webhook (Power Automate's "Post to a
// channel when a webhook request is received"; the Office 365 connectors
// it replaces are retired): a message with one Adaptive Card 1.4
// attachment, the title coloured by severity, one TextBlock per line, and
// an "Open in Tether" action when the app's URL is known. The workflow
// answers 202 Accepted. Its URL (with the signature in the query) is the
// Secret's "address".
type MSTeams struct {
	url  *url.URL
	post *poster
}

var _ notify.Provider = (*MSTeams)(nil)

func newMSTeams(cfg Config) (*MSTeams, error) {
	u, err := secretAddress(cfg)
	if err != nil {
		return nil, err
	}
	p, err := newPoster("msteams", cfg)
	if err != nil {
		return nil, err
	}
	return &MSTeams{url: u, post: p}, nil
}

// Send posts one message.
func (m *MSTeams) Send(ctx context.Context, e notify.Event) error {
	return m.post.postJSON(ctx, m.url, nil, teamsMessage(e))
}

type teamsElement struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Wrap     bool   `json:"wrap,omitempty"`
	Weight   string `json:"weight,omitempty"`
	Size     string `json:"size,omitempty"`
	Color    string `json:"color,omitempty"`
	Title    string `json:"title,omitempty"`
	URL      string `json:"url,omitempty"`
	IsSubtle bool   `json:"isSubtle,omitempty"`
}

type teamsCard struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	Body    []teamsElement `json:"body"`
	Actions []teamsElement `json:"actions,omitempty"`
}

type teamsAttachment struct {
	ContentType string    `json:"contentType"`
	ContentURL  *string   `json:"contentUrl"`
	Content     teamsCard `json:"content"`
}

type teamsPayload struct {
	Type        string            `json:"type"`
	Attachments []teamsAttachment `json:"attachments"`
}

func teamsMessage(e notify.Event) teamsPayload {
	card := teamsCard{
		Schema:  "http://adaptivecards.io/schemas/adaptive-card.json",
		Type:    "AdaptiveCard",
		Version: "1.4",
		Body: []teamsElement{{
			Type: "TextBlock", Text: e.Title(), Wrap: true, Weight: "Bolder", Size: "Medium",
			Color: teamsColor(e.Severity),
		}},
	}
	for _, l := range e.Lines() {
		if l != e.URL {
			card.Body = append(card.Body, teamsElement{Type: "TextBlock", Text: l, Wrap: true})
		}
	}
	if e.URL != "" {
		card.Actions = []teamsElement{{Type: "Action.OpenUrl", Title: "Open in Tether", URL: e.URL}}
	}
	return teamsPayload{Type: "message", Attachments: []teamsAttachment{{
		ContentType: "application/vnd.microsoft.card.adaptive",
		Content:     card,
	}}}
}

// teamsColor is the Adaptive Card colour of a severity.
func teamsColor(severity string) string {
	switch severity {
	case v1alpha1.SeverityError:
		return "Attention"
	case v1alpha1.SeverityWarning:
		return "Warning"
	}
	return "Good"
}
