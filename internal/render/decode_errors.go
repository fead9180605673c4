package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	yaml "go.yaml.in/yaml/v3"
)

// Where a YAML syntax error is.
//
// yaml.v3 (and yaml.v2, both ports of libyaml) keep 0-based line marks
// and print them as "yaml: line N: problem", adding 1 only for scanner
// errors: a parser error (an unclosed '{', a badly indented key) is
// printed one line too early. yaml.v3 prints the mark of the construct the
// error is in (the '{', the mapping) and yaml.v2 the mark where the
// problem was found, each falling back to the other when its mark is on
// line 0, since a mark on the first line is mistaken for "no mark".
//
// So a syntax error is located by parsing the stream again behind one
// blank line, which moves every mark off line 0: yaml.v3 then gives the
// construct's line and yaml.v2 the problem's, both in 1-based numbering
// of the original file once parser errors are told from scanner errors.
// This runs only after a parse failed.

// yamlLine matches the line libyaml puts in its syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are the problems libyaml's parser (not its scanner)
// reports: their printed line is 0-based.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
	"found duplicate %TAG directive":         true,
}

// openers are the problems of a construct left open: the error is
// reported on the line that opened it, where the fix usually is.
var openers = map[string]string{
	"did not find expected ',' or '}'": "the '{' on this line is not closed",
	"did not find expected ',' or ']'": "the '[' on this line is not closed",
	"found unexpected end of stream":   "the quoted string that starts on this line is not closed",
	"could not find expected ':'":      "the key that starts on this line has no ':'",
}

// yamlError turns a yaml.v3 syntax error in data into an *Error with the
// file and the 1-based line of the original file.
func yamlError(file string, data []byte, err error) error {
	line, problem := splitYAMLError(err)
	construct, found := locateYAMLError(data)
	last := lastLine(data)
	switch {
	case construct == 0 && found == 0: // not located again: trust the message
		if line > 0 && parserProblems[problem] {
			line++
		}
	case openers[problem] != "" && construct > 0:
		line = construct
		note := openers[problem]
		switch {
		case found > last:
			note += "; the file ends first"
		case found > construct:
			note += fmt.Sprintf("; the problem shows on line %d", found)
		}
		problem = fmt.Sprintf("%s (%s)", problem, note)
	case found > 0:
		line = found
	default:
		line = construct
	}
	if line > last {
		// The mark is the end of the stream, after the last newline.
		line = last
		problem += " at the end of the file"
	}
	return &Error{File: file, Line: line, Err: fmt.Errorf("invalid YAML: %s", problem)}
}

// splitYAMLError returns the line a libyaml error message prints (0 when
// it prints none) and its problem.
func splitYAMLError(err error) (int, string) {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 0, strings.TrimPrefix(msg, "yaml: ")
}

// locateYAMLError parses data again behind a blank line and returns the
// 1-based lines of the construct holding the syntax error (yaml.v3) and
// of the problem itself (yaml.v2); 0 for what it could not locate.
func locateYAMLError(data []byte) (construct, found int) {
	if bytes.HasPrefix(data, []byte("\xff\xfe")) || bytes.HasPrefix(data, []byte("\xfe\xff")) {
		return 0, 0 // UTF-16: a '\n' byte cannot be inserted
	}
	bom := []byte("\xef\xbb\xbf")
	shifted := make([]byte, 0, len(data)+1)
	if bytes.HasPrefix(data, bom) {
		shifted = append(shifted, bom...)
		data = data[len(bom):]
	}
	shifted = append(append(shifted, '\n'), data...)
	return shiftedLine(v3SyntaxError(shifted)), shiftedLine(v2SyntaxError(shifted))
}

// shiftedLine converts the line of an error in the shifted stream (0 when
// there is none) to the 1-based line in the original.
func shiftedLine(err error) int {
	if err == nil {
		return 0
	}
	line, problem := splitYAMLError(err)
	if line == 0 {
		return 0
	}
	if !parserProblems[problem] {
		line-- // a scanner error: the printed line is already 1-based
	}
	return max(line, 1)
}

// v3SyntaxError returns the first error yaml.v3 finds in data.
func v3SyntaxError(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// v2SyntaxError returns the first syntax error yaml.v2 finds in data.
// Each document is decoded into an empty struct, so no alias is expanded
// and a document that is not a mapping is only a type error, skipped.
func v2SyntaxError(data []byte) error {
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	for {
		err := dec.Decode(&struct{}{})
		var te *yamlv2.TypeError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &te), err == nil:
			continue
		}
		return err
	}
}

// lastLine returns the last line of data that is not blank (1 for none).
func lastLine(data []byte) int {
	lines := bytes.Split(data, []byte("\n"))
	for i := len(lines) - 1; i > 0; i-- {
		if len(bytes.TrimSpace(lines[i])) > 0 {
			return i + 1
		}
	}
	return 1
}
