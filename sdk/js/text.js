// UTF-8 conversions shared by the helpers.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeUtf8(text) {
  return encoder.encode(text);
}

export function decodeUtf8(bytes) {
  return decoder.decode(bytes);
}
