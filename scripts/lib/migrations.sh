# Sourced by the scripts that replay SQL migrations outside refinery.
# The file names of a refinery migration folder (V<n>__<name>.sql) in the order
# refinery applies them: by version number, so V10 comes after V9.
migrations_in_version_order() {
  ls "$1" | sed 's/^V\([0-9]*\)__.*/\1 &/' | sort -n | cut -d' ' -f2
}
