// Issue 25: the error shown for a load failure, a tick or a run is the exception's own line. A
// SyntaxError's message (Python's traceback.format_exception_only, as Dagster's PythonError.message
// carries it) starts with its location, not with the exception.
#include <gtest/gtest.h>

#include "analyzer/artifact/failure.hpp"

namespace analyzer {
namespace {

TEST(ExceptionLine, ASyntaxErrorShowsItsExceptionLineWithTheFileAndLine) {
  const char* message =
      "  File \"/srv/day2/tests/dagster/syntax_location.py\", line 4\n"
      "    def broken(\n"
      "              ^\n"
      "SyntaxError: '(' was never closed\n";
  EXPECT_EQ(exception_line(message), "SyntaxError: '(' was never closed (syntax_location.py, line 4)");
}

TEST(ExceptionLine, AnIndentationErrorToo) {
  EXPECT_EQ(exception_line("  File \"defs.py\", line 12\n    return x\nIndentationError: unexpected indent"),
            "IndentationError: unexpected indent (defs.py, line 12)");
}

TEST(ExceptionLine, AnOrdinaryMessageIsItsFirstLine) {
  // The close cases: the exception comes first, even when a later line names a file.
  EXPECT_EQ(exception_line("ValueError: bad value\n  File \"x.py\", line 3, in f\n"), "ValueError: bad value");
  EXPECT_EQ(exception_line("FileNotFoundError: [Errno 2] No such file: 'File \"a\"'"),
            "FileNotFoundError: [Errno 2] No such file: 'File \"a\"'");
  EXPECT_EQ(exception_line("timed out"), "timed out");
  EXPECT_EQ(exception_line(""), "");
}

TEST(ExceptionLine, ALocationWithoutAnExceptionLineStaysAsItIs) {
  EXPECT_EQ(exception_line("  File \"x.py\", line 4\n    code\n"), "  File \"x.py\", line 4");
}

}  // namespace
}  // namespace analyzer
