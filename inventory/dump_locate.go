package inventory

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// locate returns the path, such as "leases[1].ip", of the first value of
// data that does not decode into a t, so that an error names the entry
// at fault; "" when it finds none below path.
func locate(data json.RawMessage, t reflect.Type, path string) string {
	if json.Unmarshal(data, reflect.New(t).Interface()) == nil {
		return ""
	}
	switch t.Kind() {
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) == nil {
			for i, it := range items {
				if p := locate(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		}
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if json.Unmarshal(data, &fields) == nil {
			if p := locateField(fields, t, path); p != "" {
				return p
			}
		}
	}
	return path
}

// locateField locates the fault among the fields of a struct of type t,
// embedded structs' fields included.
func locateField(fields map[string]json.RawMessage, t reflect.Type, path string) string {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			if p := locateField(fields, f.Type, path); p != "" {
				return p
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		if raw, ok := fields[name]; ok {
			if p := locate(raw, f.Type, joinPath(path, name)); p != "" {
				return p
			}
		}
	}
	return ""
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
