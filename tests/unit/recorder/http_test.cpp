#include "recorder/http.hpp"

#include <gtest/gtest.h>

#include "recorder/base/result.hpp"

namespace recorder {
namespace {

Url parsed(std::string_view text) {
  auto url = parse_url(text);
  EXPECT_TRUE(url) << url.error().message;
  return url ? url.value() : Url{};
}

std::string parse_error(std::string_view text) {
  auto url = parse_url(text);
  EXPECT_FALSE(url) << text << " parsed";
  return url ? "" : url.error().message;
}

// ---- parse_url -------------------------------------------------------------------------------

TEST(Url, HttpDefaultsToPort80) {
  auto url = parsed("http://example.com/graphql");
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.port, 80);
  EXPECT_EQ(url.path, "/graphql");
  EXPECT_EQ(url.query, "");
}

TEST(Url, HttpsDefaultsToPort443) {
  auto url = parsed("https://acme.dagster.cloud/prod/graphql");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.port, 443);
  EXPECT_EQ(url.origin(), "https://acme.dagster.cloud:443");
}

TEST(Url, ExplicitPort) {
  auto url = parsed("http://127.0.0.1:3000/graphql");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 3000);
  EXPECT_EQ(url.origin(), "http://127.0.0.1:3000");
}

TEST(Url, SchemeIsCaseInsensitive) {
  auto url = parsed("HTTPS://example.com");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.port, 443);
}

TEST(Url, MissingPathIsSlash) {
  EXPECT_EQ(parsed("http://example.com").path, "/");
  EXPECT_EQ(parsed("http://example.com:81").path, "/");
}

TEST(Url, PathAndQuery) {
  auto url = parsed("http://example.com:8080/a/b?x=1&y=2");
  EXPECT_EQ(url.path, "/a/b");
  EXPECT_EQ(url.query, "x=1&y=2");
}

TEST(Url, QueryWithoutPath) {
  auto url = parsed("http://example.com?x=1");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.path, "/");
  EXPECT_EQ(url.query, "x=1");
}

TEST(Url, AtSignInQueryIsNotACredential) {
  auto url = parsed("http://example.com/search?email=a@b.c");
  EXPECT_EQ(url.host, "example.com");
  EXPECT_EQ(url.query, "email=a@b.c");
}

TEST(Url, Ipv6WithPort) {
  auto url = parsed("http://[::1]:8080/graphql");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.path, "/graphql");
}

TEST(Url, Ipv6WithoutPort) {
  auto url = parsed("https://[2001:db8::1]/x");
  EXPECT_EQ(url.host, "2001:db8::1");
  EXPECT_EQ(url.port, 443);
}

TEST(Url, Ipv6OriginKeepsBrackets) {
  // The origin is handed to the HTTP client: "http://::1:8080" would not parse as host + port.
  EXPECT_EQ(parsed("http://[::1]:8080/graphql").origin(), "http://[::1]:8080");
}

TEST(Url, Ipv6Unterminated) {
  EXPECT_EQ(parse_error("http://[::1:8080/"), "\"http://[::1:8080/\": unterminated IPv6 host");
}

TEST(Url, Ipv6GarbageAfterBracket) {
  EXPECT_EQ(parse_error("http://[::1]x/"), "\"http://[::1]x/\": bad host");
}

TEST(Url, MissingScheme) {
  EXPECT_EQ(parse_error("example.com/graphql"),
            "\"example.com/graphql\" is not a URL (expected http://host[:port]/path)");
}

TEST(Url, FtpScheme) {
  EXPECT_EQ(parse_error("ftp://example.com/x"), "\"ftp://example.com/x\": scheme \"ftp\" is not http or https");
}

TEST(Url, PortZero) {
  EXPECT_EQ(parse_error("http://host:0/"), "\"http://host:0/\": \"0\" is not a port (1-65535)");
}

TEST(Url, PortTooLarge) {
  EXPECT_EQ(parse_error("http://host:70000/"), "\"http://host:70000/\": \"70000\" is not a port (1-65535)");
}

TEST(Url, PortNotANumber) {
  EXPECT_EQ(parse_error("http://host:abc/"), "\"http://host:abc/\": \"abc\" is not a port (1-65535)");
}

TEST(Url, PortWithTrailingGarbage) {
  EXPECT_EQ(parse_error("http://host:80x"), "\"http://host:80x\": \"80x\" is not a port (1-65535)");
}

TEST(Url, PortNegative) {
  EXPECT_EQ(parse_error("http://host:-1/"), "\"http://host:-1/\": \"-1\" is not a port (1-65535)");
}

TEST(Url, PortEmpty) {
  EXPECT_EQ(parse_error("http://host:/"), "\"http://host:/\": \"\" is not a port (1-65535)");
}

TEST(Url, PortHuge) {
  EXPECT_EQ(parse_error("http://host:99999999999999999999/"),
            "\"http://host:99999999999999999999/\": \"99999999999999999999\" is not a port (1-65535)");
}

TEST(Url, PortLimits) {
  EXPECT_EQ(parsed("http://host:1/").port, 1);
  EXPECT_EQ(parsed("http://host:65535/").port, 65535);
}

TEST(Url, EmptyHost) {
  EXPECT_EQ(parse_error("http:///graphql"), "\"http:///graphql\": empty host");
}

TEST(Url, EmptyHostWithPort) {
  EXPECT_EQ(parse_error("http://:8080/graphql"), "\"http://:8080/graphql\": empty host");
}

TEST(Url, EmptyIpv6Host) {
  EXPECT_EQ(parse_error("http://[]:8080/"), "\"http://[]:8080/\": empty host");
}

TEST(Url, CredentialsAreRejected) {
  EXPECT_EQ(parse_error("https://user:secret@example.com/graphql"),
            "\"https://<redacted>@example.com/graphql\": credentials in URLs are not accepted; use the environment");
}

TEST(Url, UserWithoutPasswordIsRejected) {
  EXPECT_EQ(parse_error("http://token@example.com"),
            "\"http://<redacted>@example.com\": credentials in URLs are not accepted; use the environment");
}

TEST(Url, NoErrorPrintsASecretQueryValue) {
  EXPECT_EQ(parse_error("http://example.com:99999/graphql?token=s3cretT0ken"),
            "\"http://example.com:99999/graphql?token=<redacted>\": \"99999\" is not a port (1-65535)");
}

// ---- find_header -----------------------------------------------------------------------------

TEST(HttpHeaders, FindHeaderIgnoresCase) {
  Headers headers{{"Content-Type", "application/json"}, {"retry-after", "5"}};
  EXPECT_EQ(find_header(headers, "content-type"), "application/json");
  EXPECT_EQ(find_header(headers, "CONTENT-TYPE"), "application/json");
  EXPECT_EQ(find_header(headers, "Retry-After"), "5");
}

TEST(HttpHeaders, FindHeaderReturnsNulloptWhenAbsent) {
  Headers headers{{"Content-Type", "application/json"}};
  EXPECT_EQ(find_header(headers, "Content-Length"), std::nullopt);
  EXPECT_EQ(find_header(headers, "Content-Typ"), std::nullopt);
  EXPECT_EQ(find_header({}, "x"), std::nullopt);
}

TEST(HttpHeaders, FindHeaderReturnsTheFirstOfDuplicates) {
  Headers headers{{"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(find_header(headers, "X-A"), "1");
}

// ---- url_encode ------------------------------------------------------------------------------

TEST(HttpUrlEncode, KeepsUnreservedCharacters) {
  EXPECT_EQ(url_encode("AZaz09-_.~"), "AZaz09-_.~");
}

TEST(HttpUrlEncode, EncodesReservedCharactersInUpperHex) {
  EXPECT_EQ(url_encode("a b&c=d/e?f#g+h%"), "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25");
}

TEST(HttpUrlEncode, EncodesUtf8ByteByByte) {
  EXPECT_EQ(url_encode("é"), "%C3%A9");
  EXPECT_EQ(url_encode(std::string_view("\0\xff", 2)), "%00%FF");
}

TEST(HttpUrlEncode, EmptyStaysEmpty) { EXPECT_EQ(url_encode(""), ""); }

TEST(HttpService, NamesAreStable) {
  EXPECT_EQ(to_string(Service::dagster), "dagster");
  EXPECT_EQ(to_string(Service::error_reporting), "error_reporting");
  EXPECT_EQ(to_string(Service::other), "other");
}

}  // namespace
}  // namespace recorder
