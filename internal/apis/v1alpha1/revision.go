package v1alpha1

import "strings"

// A revision, as status and history record it, is what a sync deployed:
//
//	<commit SHA>                         a Git source
//	<version>@sha256:<hex>               a chart (its archive or manifest digest)
//	<tag>@sha256:<hex>, sha256:<hex>     an OCI artifact
//
// followed, for each spec.refSources entry, by ",<ref>@<commit SHA>"
// (commas appear in none of the forms above).

// RefRevision is a ref source's part of a revision.
type RefRevision struct {
	Ref, Commit string
}

// JoinRevision builds the recorded revision from the primary source's and
// the ref sources' revisions.
func JoinRevision(primary string, refs []RefRevision) string {
	var b strings.Builder
	b.WriteString(primary)
	for _, r := range refs {
		b.WriteString("," + r.Ref + "@" + r.Commit)
	}
	return b.String()
}

// SplitRevision is JoinRevision's inverse; refs is nil when there are none.
func SplitRevision(rev string) (primary string, refs map[string]string) {
	parts := strings.Split(rev, ",")
	for _, p := range parts[1:] {
		ref, commit, ok := strings.Cut(p, "@")
		if !ok {
			continue
		}
		if refs == nil {
			refs = map[string]string{}
		}
		refs[ref] = commit
	}
	return parts[0], refs
}

// ShortRevision abbreviates a revision for display: commit SHAs and
// digests to n hex digits ("1a2b3c4", "6.5.4@sha256:1a2b3c4",
// "6.5.4@sha256:1a2b3c4, values@9f8e7d6").
func ShortRevision(rev string, n int) string {
	parts := strings.Split(rev, ",")
	for i, p := range parts {
		parts[i] = shortPart(p, n)
	}
	return strings.Join(parts, ", ")
}

func shortPart(p string, n int) string {
	if head, hex, ok := strings.Cut(p, "sha256:"); ok {
		return head + "sha256:" + cut(hex, n)
	}
	if name, commit, ok := strings.Cut(p, "@"); ok {
		return name + "@" + cut(commit, n)
	}
	if isHexString(p) {
		return cut(p, n)
	}
	return p
}

func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func isHexString(s string) bool {
	if len(s) < 7 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
