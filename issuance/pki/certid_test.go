package pki

import (
	"crypto/x509"
	"math/big"
	"testing"
)

// TestARICertID checks the identifier against RFC 9773 §4.1's worked
// example (AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
// serial 00:87:65:43:21) and the edge cases around the serial's encoding:
// a leading zero octet keeps a high-bit serial positive, and a one-octet
// serial has no padding.
func TestARICertID(t *testing.T) {
	aki := []byte{0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4}
	tests := []struct {
		name    string
		leaf    *x509.Certificate
		want    string
		wantErr bool
	}{
		{name: "RFC 9773 example", leaf: &x509.Certificate{AuthorityKeyId: aki, SerialNumber: big.NewInt(0x87654321)}, want: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"},
		{name: "small serial", leaf: &x509.Certificate{AuthorityKeyId: []byte{1}, SerialNumber: big.NewInt(5)}, want: "AQ.BQ"},
		{name: "no AKI", leaf: &x509.Certificate{SerialNumber: big.NewInt(5)}, wantErr: true},
		{name: "no serial", leaf: &x509.Certificate{AuthorityKeyId: aki}, wantErr: true},
		{name: "nil", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ARICertID(tt.leaf)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
