package gatehouse_test

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"gatehouse"
)

func sampleRecord() gatehouse.Record {
	return gatehouse.Record{
		Seq: 7, ID: "1b4e28ba-2fa1-41d2-883f-0016d3cca427",
		CreationTime: time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC),
		Operation:    gatehouse.OpFileUploaded, UserID: "ann@example.com", UserType: "Member",
		ClientIP: "192.0.2.1", UserAgent: "agent", ObjectID: "/v1.0/drives/d/items/i", ItemType: "File",
		SourceFileName: "a.txt", SourceRelativeURL: "/docs", TargetUserOrGroupName: "bob@example.org",
		TargetUserOrGroupType: "Guest", UniqueSharingID: "5f1c", EventData: `{"size":1}`, ResultStatus: "Succeeded",
	}
}

func TestChainHash(t *testing.T) {
	base := sampleRecord()
	prev := gatehouse.GenesisHash
	h := gatehouse.ChainHash(prev, &base)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Fatalf("ChainHash: got %q, want 64 lower-case hex digits", h)
	}
	if again := gatehouse.ChainHash(prev, &base); again != h {
		t.Fatalf("ChainHash is not deterministic: got %s then %s", h, again)
	}
	if got := gatehouse.ChainHash("ff"+prev[2:], &base); got == h {
		t.Errorf("ChainHash ignores the previous hash")
	}

	// Every chained field must change the hash. The test walks the struct so
	// a field added later without being hashed fails here.
	notHashed := map[string]bool{"PrevHash": true, "Hash": true}
	rt := reflect.TypeOf(base)
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		if notHashed[f.Name] {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			r := base
			v := reflect.ValueOf(&r).Elem().Field(i)
			switch v.Kind() {
			case reflect.String:
				v.SetString(v.String() + "x")
			case reflect.Int64:
				v.SetInt(v.Int() + 1)
			default:
				if tm, ok := v.Interface().(time.Time); ok {
					v.Set(reflect.ValueOf(tm.Add(time.Microsecond)))
				} else {
					t.Fatalf("field %s of kind %s: extend this test", f.Name, v.Kind())
				}
			}
			if got := gatehouse.ChainHash(prev, &r); got == h {
				t.Errorf("changing %s left the hash at %s", f.Name, got)
			}
		})
	}

	// PrevHash and Hash are not inputs: the chain passes prev explicitly.
	r := base
	r.PrevHash, r.Hash = "something", "else"
	if got := gatehouse.ChainHash(prev, &r); got != h {
		t.Errorf("ChainHash depends on the stored PrevHash/Hash fields: got %s, want %s", got, h)
	}

	// The same instant in another zone is the same record.
	r = base
	r.CreationTime = base.CreationTime.In(time.FixedZone("X", 5*3600))
	if got := gatehouse.ChainHash(prev, &r); got != h {
		t.Errorf("ChainHash depends on the time zone: got %s, want %s", got, h)
	}
}

// TestChainHashFieldBoundaries checks the length prefixes: moving bytes from
// one field to its neighbour must change the hash.
func TestChainHashFieldBoundaries(t *testing.T) {
	tests := []struct {
		name string
		set  func(r *gatehouse.Record, a, b string)
	}{
		{"Operation/UserID", func(r *gatehouse.Record, a, b string) { r.Operation, r.UserID = a, b }},
		{"ID/Operation", func(r *gatehouse.Record, a, b string) { r.ID, r.Operation = a, b }},
		{"SourceFileName/SourceRelativeURL", func(r *gatehouse.Record, a, b string) { r.SourceFileName, r.SourceRelativeURL = a, b }},
		{"EventData/ResultStatus", func(r *gatehouse.Record, a, b string) { r.EventData, r.ResultStatus = a, b }},
		{"UniqueSharingID/EventData", func(r *gatehouse.Record, a, b string) { r.UniqueSharingID, r.EventData = a, b }},
	}
	splits := [][4]string{
		{"ab", "c", "a", "bc"},
		{"", "abc", "abc", ""},
		{"1:a,", "", "", "1:a,"}, // looks like an encoded field
		{"a,1:b", "", "a", "b"},
		{"a,:b", "c", "a", "b,:c"}, // equal encodings if only the separators were left
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range splits {
				r1, r2 := sampleRecord(), sampleRecord()
				tt.set(&r1, s[0], s[1])
				tt.set(&r2, s[2], s[3])
				if h1, h2 := gatehouse.ChainHash(gatehouse.GenesisHash, &r1), gatehouse.ChainHash(gatehouse.GenesisHash, &r2); h1 == h2 {
					t.Errorf("(%q, %q) and (%q, %q) hash alike: %s", s[0], s[1], s[2], s[3], h1)
				}
			}
		})
	}
}

func TestEventData(t *testing.T) {
	tests := []struct {
		in   map[string]any
		want string
	}{
		{nil, ""},
		{map[string]any{}, ""},
		{map[string]any{"b": 2, "a": "x"}, `{"a":"x","b":2}`},
		{map[string]any{"name": `"<q>"`}, `{"name":"\"\u003cq\u003e\""}`},
	}
	for _, tt := range tests {
		if got := gatehouse.EventData(tt.in); got != tt.want {
			t.Errorf("EventData(%v): got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestRecordClamp(t *testing.T) {
	long := strings.Repeat("a", 600)
	r := &gatehouse.Record{UserAgent: long, UserID: strings.Repeat("é", 200) + "@x.test", TargetUserOrGroupName: long, ClientIP: long}
	r.Clamp()
	if got := len(r.UserAgent); got != gatehouse.MaxAuditUserAgent {
		t.Errorf("user agent is %d bytes, want %d", got, gatehouse.MaxAuditUserAgent)
	}
	if got := len(r.TargetUserOrGroupName); got != gatehouse.MaxAuditAddress {
		t.Errorf("target is %d bytes, want %d", got, gatehouse.MaxAuditAddress)
	}
	if len(r.UserID) > gatehouse.MaxAuditAddress || !utf8.ValidString(r.UserID) {
		t.Errorf("user id is %d bytes, valid UTF-8 %v; want at most %d and valid", len(r.UserID), utf8.ValidString(r.UserID), gatehouse.MaxAuditAddress)
	}
	if len(r.ClientIP) > 64 {
		t.Errorf("client IP is %d bytes, want at most 64", len(r.ClientIP))
	}
	short := &gatehouse.Record{UserAgent: "curl/8\n\x1b[31m", UserID: "sam@partner.test"}
	short.Clamp()
	if short.UserAgent != "curl/8\n\x1b[31m" || short.UserID != "sam@partner.test" {
		t.Errorf("short values changed: %q %q; they are kept as given", short.UserAgent, short.UserID)
	}
}

// TestChainHashKnownDigests pins the hash of fixed records: stored chains
// must still verify after any change to how the hash is computed.
func TestChainHashKnownDigests(t *testing.T) {
	base := sampleRecord()
	minimal := gatehouse.Record{Seq: 1, ID: "x", CreationTime: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
	odd := sampleRecord()
	odd.Seq, odd.UserAgent, odd.EventData = -12345678901, "é\x00,:", string(make([]byte, 300))
	tests := []struct {
		name string
		key  []byte
		prev string
		r    *gatehouse.Record
		want string
	}{
		{"plain", nil, gatehouse.GenesisHash, &base, "3ffbd94f47a3097f8e3bb0843c0cdccf55303c49e76fcd2cf56ea4a8d6c82a32"},
		{"keyed", []byte("k"), gatehouse.GenesisHash, &base, "5a1a9aa38f4b2472f2885df81c573832e1d6a1e4a3e2146833dd592f7fe5af2d"},
		{"minimal", nil, gatehouse.GenesisHash, &minimal, "98c1b2ae8fede93b448fcf178d5256463fc4b1c003eed353839b756e11b314a4"},
		{"empty key, odd fields", []byte{}, "abc", &odd, "cffb9ce1b154a46c8c084613276ef81077cd60bb37054b32ff2160e4b88e96f4"},
	}
	// Twice, in turn, so state kept from one key cannot leak into the next.
	for range 2 {
		for _, tt := range tests {
			if got := gatehouse.KeyedChainHash(tt.key, tt.prev, tt.r); got != tt.want {
				t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
			}
		}
	}
}

func BenchmarkKeyedChainHash(b *testing.B) {
	r := sampleRecord()
	key := []byte("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		gatehouse.KeyedChainHash(key, gatehouse.GenesisHash, &r)
	}
}
