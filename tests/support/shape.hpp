// Shape checks for generated API responses (day2 simulate's tests): against recorded responses of
// the real API, and against a Google discovery document's schemas.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <vector>

namespace day2test {

// Where `actual` does not have the shape of the recorded `references` (responses of the same
// operation): object keys and value types, where a key unknown to the references, a key every
// reference object has but `actual` lacks, or a type the references never hold there, is a
// difference. Array elements are compared with the union of the references' elements; objects with
// a `__typename` only with reference objects of that typename (when there are any). Null is
// compatible with any type, on either side. Each difference is "<JSON path>: <what>".
std::vector<std::string> shape_differences(const rapidjson::Value& actual,
                                           const std::vector<const rapidjson::Value*>& references);

// Where `value` breaks the schema `schema_id` of the discovery document `discovery` (the
// "schemas" map): `$ref`, `type` (object, array, string, integer, number, boolean, any),
// `properties` (unknown members are differences unless `additionalProperties` is given),
// `items`, `additionalProperties`, `enum`, and `format` int64/uint64 (a decimal string).
std::vector<std::string> schema_differences(const rapidjson::Value& value, const rapidjson::Value& discovery,
                                            const std::string& schema_id);

// The response schema id of the method whose `id` is `method_id` ("logging.entries.list"),
// searched through the document's nested resources; "" when absent.
std::string response_schema(const rapidjson::Value& discovery, const std::string& method_id);

// Where `value` (a GraphQL response's selection) breaks the type `type_name` of the GraphQL schema
// `sdl` (SDL text: `type`, `enum` and `union` definitions): every member must be a field of its
// type (or `__typename`), non-null fields may not be null, lists must be arrays, scalars have their
// JSON types (String/ID string, Int integer, Float number, Boolean boolean) and enums a listed value.
// Each difference is "<JSON path>: <what>".
std::vector<std::string> graphql_differences(const rapidjson::Value& value, const std::string& sdl,
                                             const std::string& type_name);

}  // namespace day2test
