package source

import (
	"context"
	"sync"
)

// KeyLocks serializes work on one key (a URL, a digest) within this
// process. The zero value is ready to use; it is safe for concurrent use.
type KeyLocks struct {
	mu    sync.Mutex
	locks map[string]chan struct{} // guarded by mu
}

// Lock waits until key is free, or ctx ends, and returns the unlock.
func (l *KeyLocks) Lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = make(map[string]chan struct{})
	}
	ch, ok := l.locks[key]
	if !ok {
		ch = make(chan struct{}, 1)
		l.locks[key] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
