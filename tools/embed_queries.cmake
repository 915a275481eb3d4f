# Writes OUTPUT, a C++ file with every GraphQL document of DIR as
# `analyzer::k_queries[]` = {operation name (file stem), text}.
file(GLOB FILES ${DIR}/*.graphql)
list(SORT FILES)
set(BODY "")
set(COUNT 0)
foreach(F ${FILES})
  get_filename_component(NAME ${F} NAME_WE)
  file(READ ${F} CONTENT HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," CONTENT "${CONTENT}")
  string(APPEND BODY "static const char k_${NAME}[] = {${CONTENT} 0};\n")
  string(APPEND ENTRIES "  {\"${NAME}\", {k_${NAME}, sizeof(k_${NAME}) - 1}},\n")
  math(EXPR COUNT "${COUNT} + 1")
endforeach()
file(WRITE ${OUTPUT}.tmp
  "#include <string_view>\n#include <utility>\nnamespace analyzer {\n${BODY}"
  "extern const std::pair<std::string_view, std::string_view> k_queries[];\n"
  "extern const int k_query_count;\n"
  "const std::pair<std::string_view, std::string_view> k_queries[] = {\n${ENTRIES}  {\"\", \"\"}};\n"
  "const int k_query_count = ${COUNT};\n}\n")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
