// day2_bench_parse FILE_OR_DIR...: the baseline of tools/bench-scale. Reads each file (every *.json
// under a directory) and parses it with RapidJSON's defaults into a Document, as plainly as a program
// can; prints the files, bytes and seconds of the fastest of 3 passes as JSON on stdout.
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path path = argv[i];
    if (fs::is_directory(path)) {
      for (const auto& entry : fs::recursive_directory_iterator(path)) {
        if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
      }
    } else {
      files.push_back(path);
    }
  }
  std::sort(files.begin(), files.end());
  double best = 1e300;
  std::size_t bytes = 0;
  for (int pass = 0; pass < 3; ++pass) {
    bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      rapidjson::Document doc;
      doc.Parse(text.data(), text.size());
      if (doc.HasParseError()) {
        std::fprintf(stderr, "day2_bench_parse: %s: not JSON\n", file.c_str());
        return 1;
      }
      bytes += text.size();
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::printf("{\"files\": %zu, \"bytes\": %zu, \"seconds\": %.6f}\n", files.size(), bytes, best);
  return 0;
}
