package resolver

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// errSerialFile marks a serial file that exists but cannot be used.
var errSerialFile = errors.New("bad serial file")

// maxSerialFile bounds what is read: the file is one short JSON object.
const maxSerialFile = 4096

// serialState is what Config.SerialFile holds: the zone, the serial last
// served for it and a digest of the zone content that serial names (every
// record, the SOA without its serial, and the synthesised port answers).
type serialState struct {
	Zone   string `json:"zone"`
	Serial uint32 `json:"serial"`
	Digest string `json:"digest"` // hex SHA-256, see zoneHash
}

// readSerialState reads path. A missing file is fs.ErrNotExist (wrapped);
// one that is not a serial file is errSerialFile.
func readSerialState(path string) (serialState, error) {
	f, err := os.Open(path)
	if err != nil {
		return serialState{}, fmt.Errorf("reading serial file: %w", err)
	}
	defer f.Close()
	st, err := parseSerialState(f)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// parseSerialState decodes a serial file; anything but one JSON object
// with a zone and a 32-byte hex digest, within maxSerialFile bytes, is
// errSerialFile.
func parseSerialState(r io.Reader) (serialState, error) {
	var st serialState
	b, err := io.ReadAll(io.LimitReader(r, maxSerialFile+1))
	if err != nil {
		return st, fmt.Errorf("reading serial file: %w", err)
	}
	if len(b) > maxSerialFile {
		return st, fmt.Errorf("%w: larger than %d bytes", errSerialFile, maxSerialFile)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%w: %w", errSerialFile, err)
	}
	if d, err := hex.DecodeString(st.Digest); err != nil || len(d) != 32 || st.Zone == "" {
		return st, fmt.Errorf("%w: want zone, serial and a SHA-256 digest", errSerialFile)
	}
	return st, nil
}

// writeSerialState replaces path atomically (a temporary file in the same
// directory, synced, then renamed), so a crash leaves the old file or the
// new one, never half of one. The directory is created if missing.
func writeSerialState(path string, st serialState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encoding serial state: %w", err)
	}
	if err := writeFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("writing serial file: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a temporary file in the same
// directory (created if missing), synced, mode 0644, renamed over path,
// so a reader sees the old file or the new one, never a part.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return os.Rename(f.Name(), path)
}

// restoreSerial picks the first serial of this process from the serial
// file: the file's serial when it names this zone with the same content,
// else the newer (RFC 1982) of serial, the policy's, and the file's
// serial + 1, so that a secondary holding the file's serial sees a newer
// one. No file, or one that cannot be read, gives serial.
func (s *Server) restoreSerial(serial uint32, h [32]byte) uint32 {
	path := s.cfg.SerialFile
	st, err := readSerialState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.logger.Info("DNS serial file absent; starting from the policy's serial", "file", path, "serial", serial)
		return serial
	case err != nil:
		s.metrics.serialFile[serialFileRead].Inc()
		s.logger.Warn("DNS serial file ignored; starting from the policy's serial", "file", path, "error", err, "serial", serial)
		return serial
	}
	s.saved = st
	if st.Zone != s.cfg.Zone {
		s.logger.Warn("DNS serial file is for another zone; ignored", "file", path, "file_zone", st.Zone, "zone", s.cfg.Zone)
		return serial
	}
	if st.Digest == hex.EncodeToString(h[:]) {
		s.logger.Info("DNS serial restored: zone unchanged since the last run", "file", path, "serial", st.Serial)
		return st.Serial
	}
	next := s.pastServed(serial, st.Serial, "kept in the serial file")
	s.logger.Info("DNS zone changed since the last run", "file", path, "previous_serial", st.Serial, "serial", next)
	return next
}

// saveSerial records serial and the content digest h in the serial file
// unless it already holds them. A failure is logged and counted; serving
// goes on, and the next SetSnapshot tries again.
func (s *Server) saveSerial(serial uint32, h [32]byte) {
	if s.cfg.SerialFile == "" {
		return
	}
	st := serialState{Zone: s.cfg.Zone, Serial: serial, Digest: hex.EncodeToString(h[:])}
	if st == s.saved {
		return
	}
	if err := writeSerialState(s.cfg.SerialFile, st); err != nil {
		s.metrics.serialFile[serialFileWrite].Inc()
		s.logger.Error("DNS serial file not written; after a restart the serial may go backwards",
			"file", s.cfg.SerialFile, "serial", serial, "error", err)
		return
	}
	s.saved = st
}
