# Writes OUTPUT, a C++ file defining `std::string_view analyzer::SYMBOL` with INPUT's bytes.
file(READ ${INPUT} CONTENT HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," CONTENT "${CONTENT}")
file(WRITE ${OUTPUT}.tmp
  "#include <string_view>\nnamespace analyzer {\nstatic const char k_bytes[] = {${CONTENT} 0};\n"
  "extern const std::string_view ${SYMBOL};\n"
  "const std::string_view ${SYMBOL}(k_bytes, sizeof(k_bytes) - 1);\n}\n")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
