package collectortest

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// RequestBody is an exporter's request body, decompressed as its
// Content-Encoding says (gzip, deflate, or none); another encoding is an
// error. The stand-in endpoints of the e2e tests read requests with it.
func RequestBody(r *http.Request) (io.ReadCloser, error) {
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return zr, nil
	case "deflate":
		zr, err := zlib.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("deflate: %w", err)
		}
		return zr, nil
	case "":
		return r.Body, nil
	default:
		return nil, errors.New("unexpected Content-Encoding " + enc)
	}
}
