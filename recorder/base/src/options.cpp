#include "recorder/base/options.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "recorder/base/command.hpp"
#include "recorder/base/text.hpp"

namespace recorder {

namespace po = boost::program_options;

po::variables_map parse_options(const std::vector<std::string>& args, const po::options_description& options,
                                const po::positional_options_description* positional) {
  constexpr int k_style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::variables_map vm;
  po::command_line_parser parser(args);
  parser.options(options).style(k_style);
  if (positional) parser.positional(*positional);
  try {
    po::store(parser.run(), vm);
  } catch (const po::unknown_option& e) {
    std::string given = e.get_option_name();
    std::string bare = given;
    bare.erase(0, bare.find_first_not_of('-'));
    bare = bare.substr(0, bare.find('='));
    std::vector<std::string> known;
    for (const auto& option : options.options()) {
      if (!option->long_name().empty()) known.push_back(option->long_name());
    }
    auto nearest = nearest_name(bare, known);
    throw UsageError{nearest.empty() ? fmt::format("unknown option {}", given)
                                     : fmt::format("unknown option {}; did you mean --{}?", given, nearest)};
  }
  po::notify(vm);
  return vm;
}

}  // namespace recorder
