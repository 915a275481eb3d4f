// The secrets day2 holds never leave it (issue 21.3), even when an upstream echoes them: the real
// `day2` binary runs against a Dagster stand-in that repeats the Dagster+ API token it was sent in
// every answer, and neither stdout, stderr (verbose logs included) nor the artifact may hold it.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "recorder/base/json.hpp"
#include "recorder/base/secrets.hpp"
#include "support/temp_dir.hpp"

namespace {

using day2_test::TempDir;

const std::string k_token = "user:0b5e55ed5ecre7c4n4ry0b5e55ed00";

std::string slurp(const std::string& path) {
  auto text = recorder::read_file(path);
  return text ? *text : std::string();
}

TEST(SecretEcho, AnEchoedDagsterPlusTokenReachesNoOutputOfTheRealBinary) {
  httplib::Server server;
  server.Post(".*", [](const httplib::Request& request, httplib::Response& response) {
    auto token = request.get_header_value("Dagster-Cloud-Api-Token");
    response.status = 401;
    response.set_content(R"({"errors": [{"message": "invalid token )" + token + R"("}]})", "application/json");
  });
  int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });

  TempDir dir;
  auto artifact = dir.file("day2.json");
  auto out = dir.file("stdout.txt");
  auto err = dir.file("stderr.txt");
  std::string command = "DAY2_CANARY_TOKEN='" + k_token + "' " + DAY2_BINARY +
                        " collect --flavor plus --config " + dir.write("config.json", R"({"dagster": {"token_env": "DAY2_CANARY_TOKEN", "organization": "acme"}})") +
                        " --dagster-url http://127.0.0.1:" + std::to_string(port) + "/graphql --retries 0 --hours 1 -v --out " +
                        artifact + " >" + out + " 2>" + err;
  int status = std::system(command.c_str());
  server.stop();
  serving.join();

  EXPECT_NE(status, 0);  // every Dagster step failed
  auto err_text = slurp(err);
  auto artifact_text = slurp(artifact);
  ASSERT_NE(artifact_text.find("invalid token"), std::string::npos) << artifact_text;  // the echo was collected
  EXPECT_NE(artifact_text.find("<redacted:credential>"), std::string::npos);
  for (const auto& [name, text] : {std::pair{"artifact", artifact_text}, {"stdout", slurp(out)}, {"stderr", err_text}}) {
    EXPECT_EQ(text.find("0b5e55ed5ecre7c4n4ry"), std::string::npos) << name << ":\n" << text;
  }
}

TEST(SecretEcho, AHeldSecretIsScrubbedFromEveryFileDay2WritesAndEveryLineItPrints) {
  recorder::hold_secret("held-s3cret-for-test");
  recorder::hold_secret("tiny");  // under 6 characters: ignored
  TempDir dir;
  auto path = dir.file("out.json");
  ASSERT_TRUE(recorder::write_file_atomic(path, R"({"e":"echo held-s3cret-for-test tiny"})"));
  EXPECT_EQ(slurp(path), R"({"e":"echo <redacted:credential> tiny"})");

  std::ostringstream sink;
  {
    recorder::SecretScrubbingBuffer buffer(sink.rdbuf());
    std::ostream stream(&buffer);
    stream << "line one held-s3" << "cret-for-test\n" << "unterminated held-s3cret-for-test";
  }  // the last line goes out when the buffer ends
  EXPECT_EQ(sink.str(), "line one <redacted:credential>\nunterminated <redacted:credential>");
}

}  // namespace
