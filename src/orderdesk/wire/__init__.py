"""The JSON shapes clients see: msgspec structs in Webflow's camelCase, and their conversions."""
