// The text of snakebridge.proto, the dynamic value every payload of this
// serializer is. Embedded so the package ships it without reading files; the
// tests check it against vectors/serializers/snakebridge.proto, its source.

/** The import path under which your .proto files can use it: `import "snakebridge.proto";`. */
export const SNAKEBRIDGE_PROTO_FILE = 'snakebridge.proto';

/** The source of snakebridge.proto. */
export const SNAKEBRIDGE_PROTO = `// snakebridge.proto: the dynamic value of the protobuf serializer
// (@snakebridge/serializer-protobuf and snakebridge.serializers.protobuf).
//
// Every payload of the protobuf serializer is one \`snakebridge.Value\`. Calls
// without a schema carry any value in it; calls with a schema carry their
// request or response message inside it (\`request_value\`, \`message_value\`).
// Your own .proto files may \`import "snakebridge.proto";\` and use
// \`snakebridge.Value\` for a field that holds anything.
//
// The TypeScript package embeds this text (src/snakebridge-proto.ts) and the
// Python package builds the same descriptor in code; the golden vectors in
// vectors/serializers/protobuf.json pin both to these bytes.

syntax = "proto3";

package snakebridge;

// Any value that crosses the bridge. Exactly one kind is set; a Value with
// none, or with a kind this version does not know, is refused.
message Value {
  oneof kind {
    NullValue null_value = 1;
    bool bool_value = 2;
    // An integer that fits in 64 bits. JavaScript reads it as a number when
    // it is a safe integer (|n| < 2^53), else as a bigint.
    sint64 int_value = 3;
    // A float, NaN, ±Infinity and -0 included.
    double double_value = 4;
    string string_value = 5;
    bytes bytes_value = 6;
    // An integer of any size: two's complement, big-endian, shortest form.
    // JavaScript sends every bigint it cannot send as int_value this way, so
    // that a bigint always comes back as a bigint.
    bytes bigint_value = 7;
    ListValue list_value = 8;
    // A dict / plain object with string keys, in insertion order.
    Struct struct_value = 9;
    // A dict / Map whose keys are not all strings.
    MapValue map_value = 10;
    ListValue set_value = 11;
    Timestamp timestamp_value = 12;
    NDArray ndarray_value = 13;
    // A Python object that stays in the worker that holds it.
    Handle handle_value = 14;
    // A message of a type in the schema (a schema'd result, or a message
    // returned where no schema applies).
    Message message_value = 15;
    // The arguments of a call with a request schema: the request message,
    // which Python passes to the function as keyword arguments.
    Message request_value = 16;
  }
}

enum NullValue {
  NULL_VALUE = 0;
}

message ListValue {
  repeated Value values = 1;
}

// Wire-compatible with map<string, Value>, but keeps the order of the keys.
message Struct {
  repeated StructEntry entries = 1;
}

message StructEntry {
  string key = 1;
  Value value = 2;
}

message MapValue {
  repeated MapEntry entries = 1;
}

message MapEntry {
  Value key = 1;
  Value value = 2;
}

// Wire-compatible with google.protobuf.Timestamp.
message Timestamp {
  int64 seconds = 1;
  // 0 to 999,999,999, counted forward from \`seconds\`.
  int32 nanos = 2;
}

// A numpy array: dtype name (int8 … float64, little-endian), shape, and the
// elements' raw bytes in C order.
message NDArray {
  string dtype = 1;
  repeated uint64 shape = 2;
  bytes data = 3;
}

message Handle {
  // Id in the worker's handle table; never 0.
  uint32 id = 1;
  // Python type, qualified: \`sklearn.linear_model._base.LinearRegression\`.
  string type = 2;
  // repr() of the object when the handle was made, cut short.
  optional string repr = 3;
}

// A message of a type the schema names, and its encoding.
message Message {
  // Full name without a leading dot: \`demo.CreateUserRequest\`.
  string type = 1;
  bytes data = 2;
}
`;
