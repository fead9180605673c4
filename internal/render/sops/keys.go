package sops

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/getsops/sops/v3/shamir"
)

// The age side of SOPS decryption: identities, and the data key.

// parseAgeIdentities parses one identity per line; blank lines and lines
// starting with "#" are skipped. Errors name the line, never its text.
func parseAgeIdentities(name string, keys []byte) ([]age.Identity, error) {
	var ids []age.Identity
	for i, line := range strings.Split(string(keys), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var id age.Identity
		var err error
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			id, err = age.ParseX25519Identity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		default:
			return nil, fmt.Errorf("%s:%d: not an age identity (want AGE-SECRET-KEY-1...)", name, i+1)
		}
		if err != nil { // age's message could quote key characters: drop it
			return nil, fmt.Errorf("%s:%d: malformed age identity", name, i+1)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%s: no age identities (AGE-SECRET-KEY-1... lines)", name)
	}
	return ids, nil
}

// dataKey recovers the file's data key with the age identities.
func (d *sopsDecrypter) dataKey(m *sopsMetadata) ([]byte, error) {
	groups := m.groups()
	if len(groups) == 0 {
		return nil, errors.New("SOPS: the file lists no keys")
	}
	var parts [][]byte
	var recipients, others []string
	var errs []error
	for _, g := range groups {
		others = append(others, g.otherKinds()...)
		for _, k := range g.Age {
			recipients = append(recipients, k.Recipient)
		}
		part, err := d.unwrapGroup(g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if part != nil {
			parts = append(parts, part)
		}
	}
	if len(groups) == 1 && len(parts) == 1 {
		return checkDataKey(parts[0])
	}
	if len(groups) > 1 && len(parts) > 0 && len(parts) >= m.ShamirThreshold {
		key, err := shamir.Combine(parts)
		if err != nil {
			return nil, fmt.Errorf("SOPS: combine key groups: %w", err)
		}
		return checkDataKey(key)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(recipients) == 0 {
		return nil, fmt.Errorf("SOPS: the file has no age recipients (it is encrypted for %s); only age is supported", strings.Join(others, ", "))
	}
	return nil, fmt.Errorf("SOPS: no age identity matches the file's recipients (%s)", strings.Join(recipients, ", "))
}

// unwrapGroup returns the group's data key (or Shamir part), nil if no
// identity matches, or an error if a matching age stanza is malformed.
func (d *sopsDecrypter) unwrapGroup(g sopsKeyGroup) ([]byte, error) {
	var errs []error
	for _, k := range g.Age {
		key, err := d.unwrapAge(k.Enc)
		if key != nil {
			return key, nil
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("SOPS: data key for age recipient %s: %w", k.Recipient, err))
		}
	}
	return nil, errors.Join(errs...)
}

// unwrapAge decrypts one armored age file; (nil, nil) if no identity matches.
func (d *sopsDecrypter) unwrapAge(enc string) ([]byte, error) {
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(enc)), d.ids...)
	var noMatch *age.NoIdentityMatchError
	if errors.As(err, &noMatch) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	key, err := io.ReadAll(io.LimitReader(r, 1024))
	if err != nil {
		return nil, err
	}
	return key, nil
}

func checkDataKey(key []byte) ([]byte, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("SOPS: data key is %d bytes, want 32", len(key))
	}
	return key, nil
}
