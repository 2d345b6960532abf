package gatehouse_test

import (
	"errors"
	"fmt"
	"testing"

	"gatehouse"
)

func TestErrorCodeAndMessage(t *testing.T) {
	internal := errors.New("pq: relation users does not exist")
	tests := []struct {
		name     string
		err      error
		wantCode string
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"ours", gatehouse.Errorf(gatehouse.ENOTFOUND, "The %s was not found.", "item"), gatehouse.ENOTFOUND, "The item was not found."},
		{"wrapped", fmt.Errorf("load: %w", gatehouse.Errorf(gatehouse.ECONFLICT, "Taken.")), gatehouse.ECONFLICT, "Taken."},
		{"internal", internal, gatehouse.EINTERNAL, "Something went wrong on our side. Please try again later."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gatehouse.ErrorCode(tt.err); got != tt.wantCode {
				t.Errorf("ErrorCode: got %q, want %q", got, tt.wantCode)
			}
			if got := gatehouse.ErrorMessage(tt.err); got != tt.wantMsg {
				t.Errorf("ErrorMessage: got %q, want %q", got, tt.wantMsg)
			}
		})
	}
}
