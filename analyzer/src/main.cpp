#include "analyzer/cli.hpp"

#include <iostream>

int main(int argc, char** argv) { return analyzer::run_cli({argv + 1, argv + argc}, std::cout, std::cerr); }
