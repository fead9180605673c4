package chart

import (
	"fmt"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/tether-dev/tether/internal/source"
)

// pick chooses the version a spec's targetRevision asks for among the
// versions a repository has, as Helm does (repo.IndexFile.Get, `helm pull
// --version`): a version listed exactly as asked wins; otherwise the
// newest version the constraint matches; "" is the newest stable version
// (pre-releases only when asked for by the constraint). Versions that are
// not semver are skipped unless asked for exactly.
func pick(versions []string, want string) (string, error) {
	for _, v := range versions {
		if want != "" && v == want {
			return v, nil
		}
	}
	c, err := constraint(want)
	if err != nil {
		return "", source.Invalid(err)
	}
	var best *semver.Version
	var bestRaw string
	for _, raw := range versions {
		v, err := semver.NewVersion(raw)
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		return "", fmt.Errorf("no version matches %q (%s)", orAny(want), available(versions))
	}
	return bestRaw, nil
}

// constraint parses a targetRevision as a semver constraint.
func constraint(want string) (*semver.Constraints, error) {
	if want == "" {
		want = "*"
	}
	c, err := semver.NewConstraint(want)
	if err != nil {
		return nil, fmt.Errorf("version %q is neither a version nor a semver constraint: %v", want, err)
	}
	return c, nil
}

// isExact reports whether want names one version (no range).
func isExact(want string) bool {
	if want == "" {
		return false
	}
	_, err := semver.StrictNewVersion(strings.TrimPrefix(want, "v"))
	return err == nil
}

func orAny(want string) string {
	if want == "" {
		return "the newest stable version"
	}
	return want
}

// available lists a few of the newest versions for an error message.
func available(versions []string) string {
	if len(versions) == 0 {
		return "the repository lists no version"
	}
	vs := make([]*semver.Version, 0, len(versions))
	for _, raw := range versions {
		if v, err := semver.NewVersion(raw); err == nil {
			vs = append(vs, v)
		}
	}
	sort.Sort(sort.Reverse(semver.Collection(vs)))
	var names []string
	for i, v := range vs {
		if i == 5 {
			names = append(names, "…")
			break
		}
		names = append(names, v.Original())
	}
	return "newest: " + strings.Join(names, ", ")
}
