"""What people see: QR codes and printable PDF certificates. Pure: bytes in, bytes out."""
