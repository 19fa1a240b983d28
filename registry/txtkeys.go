package registry

// ParseTXTKeys parses the "Defined TXT keys:" part of a registration's
// notes. TODO(helper): implement.
func ParseTXTKeys(notes string) TXTKeys { return TXTKeys{} }
