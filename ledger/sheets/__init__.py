"""Spreadsheets as registrars keep them (CSV in any of the encodings they are saved in, or XLSX), read a row
at a time, and the mapping from their columns to a document type's fields. Pure but for reading the file."""
