// Ports for tests that need a server that is not there. Never listens.
#pragma once

namespace day2test {

// A port on 127.0.0.1 that nothing listens on: bound by us, then closed. Records a test failure
// when the socket calls fail.
int closed_port();

}  // namespace day2test
