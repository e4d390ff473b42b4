package sigma

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

// referenceRegexp is the reference model of a string value: the
// specification read character by character into a Go regular expression
// (case-insensitive unless cased; '\' escapes '*', '?' and '\' and is
// itself before anything else; windash lets a '-' or '/' that begins a word
// be any of the five dashes), anchored as the modifiers say.
func referenceRegexp(value, position string, windash, cased bool) *regexp.Regexp {
	type char struct {
		lit  bool
		c    string
		wild string
	}
	var chars []char
	for i := 0; i < len(value); {
		switch {
		case value[i] == '\\' && i+1 < len(value) && strings.ContainsRune(`*?\`, rune(value[i+1])):
			chars = append(chars, char{lit: true, c: value[i+1 : i+2]})
			i += 2
		case value[i] == '*':
			chars = append(chars, char{wild: "(?s:.*)"})
			i++
		case value[i] == '?':
			chars = append(chars, char{wild: "(?s:.)"})
			i++
		default:
			_, n := utf8.DecodeRuneInString(value[i:])
			chars = append(chars, char{lit: true, c: value[i : i+n]})
			i += n
		}
	}
	word := func(c char) bool { return c.lit && isWordByte(c.c[0]) }
	var b strings.Builder
	if !cased {
		b.WriteString("(?i)")
	}
	b.WriteString("^")
	if position == "contains" || position == "endswith" {
		b.WriteString("(?s:.*)")
	}
	for i, c := range chars {
		switch {
		case !c.lit:
			b.WriteString(c.wild)
		case windash && (c.c == "-" || c.c == "/") && (i == 0 || !word(chars[i-1])) && i+1 < len(chars) && word(chars[i+1]):
			b.WriteString("(?:-|/|\u2013|\u2014|\u2015)")
		default:
			b.WriteString(regexp.QuoteMeta(c.c))
		}
	}
	if position == "contains" || position == "startswith" {
		b.WriteString("(?s:.*)")
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// TestStringValuesAgainstTheReference: random values, modifiers and field
// texts (ASCII and not, cased and not) are matched as the reference model
// says, through every path of the matcher: the simple shapes on the
// lower-cased copy, folding, the wildcard walk and windash's forms.
func TestStringValuesAgainstTheReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	valueAlphabet := []string{"a", "B", "c", "-", "/", " ", "*", "?", `\`, "é", "É", "\u2013", "x1"}
	textAlphabet := []string{"a", "A", "b", "B", "c", "C", "-", "/", " ", `\`, "é", "É", "\u2013", "\u2014", "x1", "*", "?"}
	pick := func(alphabet []string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	positions := []string{"", "contains", "startswith", "endswith"}
	var ev winevent.Event
	c := &evalCtx{}
	checked := 0
	for range 4000 {
		value := pick(valueAlphabet, 1+rng.IntN(6))
		position := positions[rng.IntN(len(positions))]
		windash, cased := rng.IntN(3) == 0, rng.IntN(4) == 0
		var names []string
		if position != "" {
			names = append(names, position)
		}
		if windash {
			names = append(names, "windash")
		}
		if cased {
			names = append(names, "cased")
		}
		mods, err := parseModifiers(names)
		require.NoError(t, err)
		matchers, err := mods.valueMatchers(value, nil)
		require.NoError(t, err)
		ref := referenceRegexp(value, position, windash, cased)
		for range 12 {
			text := pick(textAlphabet, rng.IntN(9))
			if rng.IntN(3) == 0 { // a text that holds the value's letters, its dashes swapped at random
				inner := strings.NewReplacer(`\`, "", "*", "", "?", "b").Replace(value)
				if rng.IntN(2) == 0 {
					inner = strings.NewReplacer("-", "/", "/", "\u2013").Replace(inner)
				}
				text = pick(textAlphabet, rng.IntN(3)) + inner + pick(textAlphabet, rng.IntN(3))
			}
			c.reset(&ev, kindSysmon)
			c.cur = 0
			got := false
			for _, m := range matchers {
				if m.match(text, c) {
					got = true
					break
				}
			}
			require.Equal(t, ref.MatchString(text), got, "value %q %v text %q (reference %s)", value, names, text, ref)
			checked++
		}
	}
	t.Logf("%d (value, text) pairs agree with the reference", checked)
}

func TestTaxonomyFitsTheCaches(t *testing.T) {
	require.LessOrEqual(t, len(taxonomy), maxTaxonomy)
}
