// Package sops decrypts SOPS-encrypted files for age recipients: its
// decrypter is the hook the Directory renderer (plain.Directory.Decrypt)
// calls for each encrypted file.
//
// The sops library's tree, cipher and store packages all import its key
// service, which links the AWS, GCP and Azure KMS SDKs into the binary. So
// sops.go, keys.go and tree.go decrypt the SOPS file format
// themselves, following sops v3.13 exactly (see its sops.go Tree.Decrypt,
// aes/cipher.go, stores/yaml, stores/json, cmd/sops/common.DecryptTree):
// recover the data key from the age stanzas with filippo.io/age, decrypt
// each value with AES-256-GCM bound to its key path, recompute the SHA-512
// MAC over the cleartext and compare it with the file's encrypted MAC
// before returning anything. The tests encrypt fixtures with the sops
// library's crypto and decrypt files written by the sops CLI.
package sops

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/tether-dev/tether/internal/render"
)

// maxKeyFileSize caps an age key file (a key line is 74 bytes).
const maxKeyFileSize = 1 << 20

// errMACMismatch is returned when the recomputed MAC differs from the file's.
var errMACMismatch = errors.New("SOPS: MAC mismatch: file was tampered with or corrupted")

// NewDecrypter reads age identities (the AGE-SECRET-KEY-1... lines of an
// age key file, comments allowed) from keyFile and returns a Decrypt hook for
// Directory.
//
// The hook decrypts SOPS-encrypted YAML (.yaml, .yml) and JSON (.json) files
// in memory and returns their cleartext; data that is not SOPS-encrypted is
// returned unchanged. Its errors name key paths and recipients, never a
// decrypted value or a private key. The hook is safe for concurrent use.
func NewDecrypter(keyFile string) (func(file string, data []byte) ([]byte, error), error) {
	f, err := os.Open(keyFile)
	if err != nil {
		return nil, fmt.Errorf("age key file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("age key file: %w", err)
	}
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("age key file %s: larger than %d bytes", keyFile, maxKeyFileSize)
	}
	return newSOPSDecrypter(keyFile, data)
}

// NewDecrypterFromKeys is NewDecrypter with the identities' text
// given directly (for keys read from a Kubernetes Secret).
func NewDecrypterFromKeys(keys []byte) (func(file string, data []byte) ([]byte, error), error) {
	return newSOPSDecrypter("age keys", keys)
}

func newSOPSDecrypter(name string, keys []byte) (func(string, []byte) ([]byte, error), error) {
	ids, err := parseAgeIdentities(name, keys)
	if err != nil {
		return nil, err
	}
	d := &sopsDecrypter{ids: ids}
	return d.decrypt, nil
}

// sopsDecrypter holds parsed age identities; it is immutable.
type sopsDecrypter struct {
	ids []age.Identity
}

func (d *sopsDecrypter) decrypt(file string, data []byte) ([]byte, error) {
	if !render.IsSOPSEncrypted(data) {
		return data, nil
	}
	format, err := sopsFormatOf(file)
	if err != nil {
		return nil, err
	}
	docs, err := format.parse(data)
	if err != nil {
		return nil, fmt.Errorf("SOPS: %w", err)
	}
	meta, docs, err := extractSOPSMetadata(docs)
	if err != nil {
		return nil, err
	}
	rules, err := meta.rules()
	if err != nil {
		return nil, err
	}
	key, err := d.dataKey(meta)
	if err != nil {
		return nil, err
	}
	w := &sopsWalker{key: key, rules: rules, macOnlyEncrypted: meta.MACOnlyEncrypted, mac: sha512.New()}
	if meta.MACOnlyEncrypted {
		w.mac.Write(macOnlyEncryptedInit)
	}
	for i := range docs {
		if docs[i], err = w.branch(docs[i], nil); err != nil {
			return nil, err
		}
	}
	if err := meta.verifyMAC(key, fmt.Sprintf("%X", w.mac.Sum(nil))); err != nil {
		return nil, err
	}
	out, err := format.emit(docs)
	if err != nil { // never wrap: an encoder error could quote a value
		return nil, errors.New("SOPS: cannot encode the decrypted document")
	}
	return out, nil
}

// macOnlyEncryptedInit is sops.MACOnlyEncryptedInitialization: sha256("sops").
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// sopsMetadata is the "sops" key of an encrypted file (stores.metadata).
type sopsMetadata struct {
	ShamirThreshold         int            `json:"shamir_threshold"`
	KeyGroups               []sopsKeyGroup `json:"key_groups"`
	LastModified            string         `json:"lastmodified"`
	MAC                     string         `json:"mac"`
	UnencryptedSuffix       string         `json:"unencrypted_suffix"`
	EncryptedSuffix         string         `json:"encrypted_suffix"`
	UnencryptedRegex        string         `json:"unencrypted_regex"`
	EncryptedRegex          string         `json:"encrypted_regex"`
	UnencryptedCommentRegex string         `json:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string         `json:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool           `json:"mac_only_encrypted"`
	sopsKeyGroup                           // the legacy layout: one group at top level
}

// sopsKeyGroup lists master keys; only age can be used here, the others are
// kept to say what the file was encrypted for.
type sopsKeyGroup struct {
	Age    []sopsAgeKey      `json:"age"`
	KMS    []json.RawMessage `json:"kms"`
	GCPKMS []json.RawMessage `json:"gcp_kms"`
	HCKMS  []json.RawMessage `json:"hckms"`
	AzKV   []json.RawMessage `json:"azure_kv"`
	Vault  []json.RawMessage `json:"hc_vault"`
	PGP    []json.RawMessage `json:"pgp"`
}

type sopsAgeKey struct {
	Recipient string `json:"recipient"`
	Enc       string `json:"enc"`
}

func (g sopsKeyGroup) empty() bool {
	return len(g.Age)+len(g.KMS)+len(g.GCPKMS)+len(g.HCKMS)+len(g.AzKV)+len(g.Vault)+len(g.PGP) == 0
}

// otherKinds names the key types of the group other than age.
func (g sopsKeyGroup) otherKinds() []string {
	var kinds []string
	for _, k := range []struct {
		name string
		n    int
	}{{"kms", len(g.KMS)}, {"gcp_kms", len(g.GCPKMS)}, {"hckms", len(g.HCKMS)}, {"azure_kv", len(g.AzKV)}, {"hc_vault", len(g.Vault)}, {"pgp", len(g.PGP)}} {
		if k.n > 0 {
			kinds = append(kinds, k.name)
		}
	}
	return kinds
}

// groups returns the key groups, as stores.metadata.internalKeygroups does.
func (m *sopsMetadata) groups() []sopsKeyGroup {
	if !m.sopsKeyGroup.empty() {
		return []sopsKeyGroup{m.sopsKeyGroup}
	}
	return m.KeyGroups
}

// extractSOPSMetadata takes the "sops" key of the first document as the
// metadata and removes "sops" keys from every document (stores.ExtractMetadata).
func extractSOPSMetadata(docs []sopsBranch) (*sopsMetadata, []sopsBranch, error) {
	var raw any
	found := false
	for i, doc := range docs {
		kept := doc[:0:0]
		for _, it := range doc {
			if it.key != "sops" {
				kept = append(kept, it)
				continue
			}
			if i == 0 {
				if found {
					return nil, nil, errors.New("SOPS: duplicate sops metadata")
				}
				raw, found = it.value, true
			}
		}
		docs[i] = kept
	}
	if _, ok := raw.(sopsBranch); !ok {
		return nil, nil, errors.New("SOPS: the first document has no sops metadata mapping")
	}
	text, err := emitJSONValue(raw)
	if err != nil {
		return nil, nil, errors.New("SOPS: cannot read the sops metadata")
	}
	var m sopsMetadata
	if err := json.Unmarshal(text, &m); err != nil {
		return nil, nil, fmt.Errorf("SOPS: sops metadata: %w", err)
	}
	return &m, docs, nil
}

// verifyMAC decrypts the file's MAC (bound to lastmodified) and compares it
// with the one computed over the cleartext (common.DecryptTree).
func (m *sopsMetadata) verifyMAC(key []byte, computed string) error {
	lastModified, err := time.Parse(time.RFC3339, m.LastModified)
	if err != nil {
		return errors.New("SOPS: sops.lastmodified is not an RFC 3339 time")
	}
	v, _, err := decryptSOPSValue(m.MAC, key, lastModified.Format(time.RFC3339))
	if err != nil {
		return errMACMismatch
	}
	fileMAC, ok := v.(string)
	if !ok || subtle.ConstantTimeCompare([]byte(fileMAC), []byte(computed)) != 1 {
		return errMACMismatch
	}
	return nil
}

// sopsEncRE is aes.encre, the format of an encrypted value.
var sopsEncRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// decryptSOPSValue decrypts one value (aes.Cipher.Decrypt). isComment
// reports a value of type "comment". Errors never contain the cleartext.
func decryptSOPSValue(s string, key []byte, aad string) (v any, isComment bool, err error) {
	if s == "" {
		return "", false, nil
	}
	m := sopsEncRE.FindStringSubmatch(s)
	if m == nil {
		return nil, false, errors.New("not a SOPS-encrypted value (ENC[AES256_GCM,...])")
	}
	var parts [3][]byte
	for i := range parts {
		if parts[i], err = base64.StdEncoding.DecodeString(m[i+1]); err != nil {
			return nil, false, errors.New("malformed encrypted value: bad base64")
		}
	}
	data, iv, tag := parts[0], parts[1], parts[2]
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false, err
	}
	if len(iv) == 0 {
		return nil, false, errors.New("malformed encrypted value: empty iv")
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(iv))
	if err != nil {
		return nil, false, err
	}
	plain, err := gcm.Open(nil, iv, append(data, tag...), []byte(aad))
	if err != nil {
		return nil, false, errors.New("value failed authentication: file was tampered with or corrupted")
	}
	return sopsTyped(plain, m[4])
}

// sopsTyped converts decrypted bytes to the value's recorded type.
func sopsTyped(plain []byte, typ string) (v any, isComment bool, err error) {
	s := string(plain)
	switch typ {
	case "str":
		return s, false, nil
	case "int":
		v, err = strconv.Atoi(s)
	case "float":
		v, err = strconv.ParseFloat(s, 64)
	case "bytes":
		return plain, false, nil
	case "bool":
		v, err = strconv.ParseBool(s)
	case "time":
		var t time.Time
		err = t.UnmarshalText(plain)
		v = t
	case "comment":
		return s, true, nil
	default:
		return nil, false, fmt.Errorf("unknown encrypted value type %.20q", typ)
	}
	if err != nil { // strconv errors quote their input: the cleartext
		return nil, false, fmt.Errorf("decrypted value is not a valid %s", typ)
	}
	return v, false, nil
}

// sopsRules decides which values are encrypted (Tree.shouldBeEncrypted).
type sopsRules struct {
	unencryptedSuffix, encryptedSuffix string
	unencryptedRegex, encryptedRegex   *regexp.Regexp
}

func (m *sopsMetadata) rules() (sopsRules, error) {
	if m.UnencryptedCommentRegex != "" || m.EncryptedCommentRegex != "" {
		return sopsRules{}, errors.New("SOPS: encrypted_comment_regex and unencrypted_comment_regex are not supported")
	}
	n := 0
	for _, s := range []string{m.UnencryptedSuffix, m.EncryptedSuffix, m.UnencryptedRegex, m.EncryptedRegex} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return sopsRules{}, errors.New("SOPS: more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex")
	}
	r := sopsRules{unencryptedSuffix: m.UnencryptedSuffix, encryptedSuffix: m.EncryptedSuffix}
	if n == 0 {
		r.unencryptedSuffix = "_unencrypted" // sops.DefaultUnencryptedSuffix
	}
	var err error
	if m.UnencryptedRegex != "" {
		if r.unencryptedRegex, err = regexp.Compile(m.UnencryptedRegex); err != nil {
			return sopsRules{}, fmt.Errorf("SOPS: unencrypted_regex: %w", err)
		}
	}
	if m.EncryptedRegex != "" {
		if r.encryptedRegex, err = regexp.Compile(m.EncryptedRegex); err != nil {
			return sopsRules{}, fmt.Errorf("SOPS: encrypted_regex: %w", err)
		}
	}
	return r, nil
}

// encrypted reports whether the value at path (mapping keys from the root)
// is encrypted. At most one rule is set (checked by rules).
func (r sopsRules) encrypted(path []string) bool {
	anyKey := func(match func(string) bool) bool {
		for _, k := range path {
			if match(k) {
				return true
			}
		}
		return false
	}
	switch {
	case r.unencryptedSuffix != "":
		return !anyKey(func(k string) bool { return strings.HasSuffix(k, r.unencryptedSuffix) })
	case r.encryptedSuffix != "":
		return anyKey(func(k string) bool { return strings.HasSuffix(k, r.encryptedSuffix) })
	case r.unencryptedRegex != nil:
		return !anyKey(r.unencryptedRegex.MatchString)
	case r.encryptedRegex != nil:
		return anyKey(r.encryptedRegex.MatchString)
	}
	return true
}

// sopsFormat parses and emits one file format.
type sopsFormat struct {
	parse func([]byte) ([]sopsBranch, error)
	emit  func([]sopsBranch) ([]byte, error)
}

func sopsFormatOf(file string) (sopsFormat, error) {
	switch path.Ext(file) {
	case ".yaml", ".yml":
		return sopsFormat{parse: parseSOPSYAML, emit: emitSOPSYAML}, nil
	case ".json":
		return sopsFormat{parse: parseSOPSJSON, emit: emitSOPSJSON}, nil
	}
	return sopsFormat{}, fmt.Errorf("SOPS: unsupported file type %q: only YAML (.yaml, .yml) and JSON (.json) can be decrypted", path.Ext(file))
}

// sopsWalker decrypts a tree and feeds the MAC (Tree.Decrypt).
type sopsWalker struct {
	key              []byte
	rules            sopsRules
	macOnlyEncrypted bool
	mac              hash.Hash
}
