package main

import "github.com/tether-dev/tether/internal/render/sops"

// newDecrypter builds the SOPS decryption hook from an age key file.
func newDecrypter(keyFile string) (func(file string, data []byte) ([]byte, error), error) {
	return sops.NewDecrypter(keyFile)
}
