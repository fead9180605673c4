package chart

import (
	"strconv"

	"github.com/tether-dev/tether/internal/source"
	"github.com/tether-dev/tether/internal/source/download"
)

// maxClients bounds Fetcher.clients; past it the map starts afresh.
const maxClients = 256

// client returns the download client for origin and auth, kept across
// calls: a poll reuses its open connection and parsed certificates
// instead of a new TLS handshake and CA parse each time.
func (f *Fetcher) client(origin string, auth source.Auth, insecure bool) (*download.Client, error) {
	key := origin + "\x00" + strconv.FormatBool(insecure) + "\x00" + auth.Key()
	f.mu.Lock()
	c := f.clients[key]
	f.mu.Unlock()
	if c != nil {
		return c, nil
	}
	c, err := download.New(origin, auth, download.Options{Insecure: insecure})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clients == nil || len(f.clients) >= maxClients {
		f.clients = make(map[string]*download.Client)
	}
	f.clients[key] = c
	return c, nil
}
