package rpc

import (
	"bytes"
	"encoding/json"
)

// unionShape describes one object variant of an untagged union: the schema
// gives no discriminator, so a value is matched to the variant whose keys and
// constants it fits. The generated unmarshal functions use it.
type unionShape struct {
	required []string          // keys the variant requires
	keys     []string          // every key the variant allows; nil when any key may appear
	consts   map[string]string // key -> the JSON literal it must hold when present
}

// fit reports whether obj can be this variant and how closely: a matched
// constant counts more than a present required key.
func (s *unionShape) fit(obj map[string]json.RawMessage) (int, bool) {
	score := 0
	for _, k := range s.required {
		if _, ok := obj[k]; !ok {
			return 0, false
		}
		score++
	}
	for k, literal := range s.consts {
		v, ok := obj[k]
		if !ok {
			continue
		}
		var compact bytes.Buffer
		if json.Compact(&compact, v) != nil || compact.String() != literal {
			return 0, false
		}
		score += 2
	}
	if s.keys != nil {
		for k := range obj {
			if !contains(s.keys, k) {
				return 0, false
			}
		}
	}
	return score, true
}

// pickShape returns the index of the variant the JSON object fits best
// (the first on a tie), or -1 when it fits none.
func pickShape(data []byte, shapes []unionShape) int {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return -1
	}
	best, bestScore := -1, -1
	for i := range shapes {
		if score, ok := shapes[i].fit(obj); ok && score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type jsonKind int

const (
	jsonInvalid jsonKind = iota
	jsonNull
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonKindOf tells a JSON value's kind from its first byte.
func jsonKindOf(data []byte) jsonKind {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return jsonInvalid
	}
	switch c := data[0]; {
	case c == 'n':
		return jsonNull
	case c == 't' || c == 'f':
		return jsonBool
	case c == '"':
		return jsonString
	case c == '[':
		return jsonArray
	case c == '{':
		return jsonObject
	case c == '-' || (c >= '0' && c <= '9'):
		return jsonNumber
	}
	return jsonInvalid
}
