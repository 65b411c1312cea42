package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// wireResponse is a GraphQL response as Shopify sends it.
type wireResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *wireCost `json:"cost"`
	} `json:"extensions"`

	errs []wireError
}

type wireCost struct {
	RequestedQueryCost *float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64        `json:"actualQueryCost"`
	ThrottleStatus     *ThrottleStatus `json:"throttleStatus"`
}

type wireError struct {
	Message    string              `json:"message"`
	Path       []any               `json:"path"`
	Locations  []GraphQLErrorPlace `json:"locations"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

func decodeWire(b []byte) (*wireResponse, error) {
	var w wireResponse
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("body is not a GraphQL response: %w", err)
	}
	if len(w.Errors) > 0 && !bytes.Equal(w.Errors, []byte("null")) {
		if err := json.Unmarshal(w.Errors, &w.errs); err != nil {
			// Not a list: Shopify's {"errors": "..."} form.
			var msg string
			if json.Unmarshal(w.Errors, &msg) != nil {
				msg = "errors in an unknown form"
			}
			w.errs = []wireError{{Message: msg}}
		}
	}
	if !w.hasData() && len(w.errs) == 0 {
		return nil, fmt.Errorf("response has neither data nor errors")
	}
	return &w, nil
}

func (w *wireResponse) hasData() bool {
	return len(w.Data) > 0 && !bytes.Equal(w.Data, []byte("null"))
}

// throttled reports whether w is Shopify's THROTTLED answer.
func (w *wireResponse) throttled() bool {
	for _, e := range w.errs {
		if e.Extensions.Code == "THROTTLED" {
			return true
		}
	}
	return false
}

func (w *wireResponse) graphQLError(requestID string) *GraphQLError {
	g := &GraphQLError{RequestID: requestID}
	for _, e := range w.errs {
		g.Errors = append(g.Errors, GraphQLErrorEntry{Message: e.Message, Path: e.Path, Code: e.Extensions.Code, Locations: e.Locations})
	}
	if w.throttled() {
		g.Throttled = true
		g.sentinel = ErrThrottled
	}
	return g
}

// finish decodes a successful answer's data into out and reports its
// GraphQL errors and userErrors.
func (c *Client) finish(cl *call, info operationInfo, w *wireResponse, out any) error {
	if out != nil && w.hasData() {
		if err := json.Unmarshal(w.Data, out); err != nil {
			return &ResponseError{sentinel: ErrResponse, Status: cl.httpStatus, RequestID: cl.requestID, Attempts: cl.attempts,
				cause: fmt.Errorf("data does not fit %T: %w", out, err)}
		}
	}
	if len(w.errs) > 0 {
		return w.graphQLError(cl.requestID)
	}
	if info.opType == "mutation" || info.opType == "" {
		if ue := userErrorsOf(w.Data); ue != nil {
			ue.RequestID = cl.requestID
			return ue
		}
	}
	return nil
}

// userErrorsOf returns the userErrors of the first root field of data
// that has any.
func userErrorsOf(data json.RawMessage) *UserErrors {
	var roots map[string]json.RawMessage
	if json.Unmarshal(data, &roots) != nil {
		return nil
	}
	// Map order is random: report the alphabetically first field, so the
	// error is stable.
	var first *UserErrors
	for field, raw := range roots {
		var payload struct {
			UserErrors []UserError `json:"userErrors"`
		}
		if json.Unmarshal(raw, &payload) != nil || len(payload.UserErrors) == 0 {
			continue
		}
		if first == nil || field < first.Field {
			first = &UserErrors{Field: field, Errors: payload.UserErrors}
		}
	}
	return first
}
