using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pdp.Rego.Values;

namespace Pdp.Rego.Builtins;

/// <summary>
/// <c>json.verify_schema(schema)</c> → <c>[valid, error_or_null]</c> and <c>json.match_schema(document, schema)</c>
/// → <c>[valid, errors]</c>, with JSON Schema drafts 4 to 7 as OPA's gojsonschema library applies them. Schemas and
/// documents are values or JSON strings. Each error is <c>{"error", "type", "field", "desc"}</c> with
/// gojsonschema's wording (field <c>(root)</c> or a dotted path such as <c>a.0.b</c>). References: local
/// JSON pointers (<c>#</c>, <c>#/definitions/x</c>, <c>#/$defs/x</c>); remote references are errors.
/// </summary>
public static class JsonSchemaBuiltins
{
    /// <summary>Registers the JSON Schema built-ins.</summary>
    public static void Register(BuiltinRegistry.Builder b)
    {
        b.Add("json.verify_schema", 1, VerifySchema, [BuiltinType.String | BuiltinType.Object | BuiltinType.Boolean]);
        b.Add("json.match_schema", 2, MatchSchema, [BuiltinType.String | BuiltinType.Object | BuiltinType.Array | BuiltinType.Number | BuiltinType.Boolean | BuiltinType.Null,
            BuiltinType.String | BuiltinType.Object | BuiltinType.Boolean]);
    }

    private const int MaxDepth = 1000;

    private static Value VerifySchema(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.verify_schema";
        try
        {
            var schema = Load(name, args[0], 1, isSchema: true);
            CheckSchema(schema, schema, 0);
            return new ArrayValue([Value.True, Value.Null]);
        }
        catch (SchemaException e)
        {
            return new ArrayValue([Value.False, new StringValue(e.Message)]);
        }
    }

    private static Value MatchSchema(BuiltinContext ctx, ReadOnlySpan<Value> args)
    {
        const string name = "json.match_schema";
        Value document, schema;
        try
        {
            document = Load(name, args[0], 1, isSchema: false);
            schema = Load(name, args[1], 2, isSchema: true);
            CheckSchema(schema, schema, 0);
        }
        catch (SchemaException e) { throw BuiltinException.Error(name, e.Message); }
        var errors = new List<Value>();
        try { new Validator(schema, errors).Validate(document, schema, "(root)", 0); }
        catch (SchemaException e) { throw BuiltinException.Error(name, e.Message); }
        return new ArrayValue([Value.Bool(errors.Count == 0), new ArrayValue(errors.ToArray())]);
    }

    private sealed class SchemaException(string message) : Exception(message);

    private static Value Load(string name, Value v, int operand, bool isSchema)
    {
        if (v is StringValue s)
        {
            try { return Value.FromJson(s.Value); }
            catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException or ArgumentException)
            {
                throw new SchemaException(e.Message);
            }
        }
        if (isSchema && v is not (ObjectValue or BooleanValue)) throw BuiltinException.OperandType(name, operand, "one of {string, object, boolean}", v);
        if (v is SetValue) throw BuiltinException.OperandType(name, operand, "one of {string, object, array, number, boolean, null}", v);
        return v;
    }

    private static readonly string[] TypeNames = ["array", "boolean", "integer", "number", "null", "object", "string"];

    /// <summary>Checks the parts of a schema that gojsonschema checks when loading it (types, keyword shapes).</summary>
    private static void CheckSchema(Value root, Value schema, int depth)
    {
        if (depth > MaxDepth) throw new SchemaException("schema nested too deeply");
        if (schema is BooleanValue) return;
        if (schema is not ObjectValue o) throw new SchemaException($"Invalid type. Expected: object, given: {GivenType(schema)}");
        foreach (var kv in o.Entries)
        {
            if (kv.Key is not StringValue { Value: var key }) continue;
            var v = kv.Value;
            switch (key)
            {
                case "type":
                    foreach (var t in v is ArrayValue ta ? ta.Items : [v])
                    {
                        if (t is not StringValue ts) throw new SchemaException($"Invalid type. Expected: string/array of strings, given: type");
                        if (Array.IndexOf(TypeNames, ts.Value) < 0)
                            throw new SchemaException($"has a primitive type that is NOT VALID -- given: /{ts.Value}/ Expected valid values are:[{string.Join(" ", TypeNames)}]");
                    }
                    break;
                case "properties" or "patternProperties" or "definitions" or "$defs":
                    if (v is not ObjectValue po) throw new SchemaException($"Invalid type. Expected: object, given: {key}");
                    foreach (var p in po.Entries)
                    {
                        if (key == "patternProperties" && p.Key is StringValue pk && !GoRegex.TryGet(pk.Value, out _, out _))
                            throw new SchemaException($"Invalid regex pattern '{pk.Value}'");
                        CheckSchema(root, p.Value, depth + 1);
                    }
                    break;
                case "required":
                    if (v is not ArrayValue ra || ra.Items.Any(x => x is not StringValue)) throw new SchemaException("Invalid type. Expected: array of strings, given: required");
                    break;
                case "enum":
                    if (v is not ArrayValue) throw new SchemaException("Invalid type. Expected: array, given: enum");
                    break;
                case "pattern":
                    if (v is not StringValue ps || !GoRegex.TryGet(ps.Value, out _, out _)) throw new SchemaException($"Invalid regex pattern '{(v as StringValue)?.Value ?? v.ToString()}'");
                    break;
                case "minimum" or "maximum" or "multipleOf":
                    if (v is not NumberValue) throw new SchemaException($"Invalid type. Expected: number, given: {key}");
                    if (key == "multipleOf" && ((NumberValue)v).Sign <= 0) throw new SchemaException("multipleOf must be strictly greater than 0");
                    break;
                case "minLength" or "maxLength" or "minItems" or "maxItems" or "minProperties" or "maxProperties":
                    if (v is not NumberValue { IsIntegral: true } n || n.Sign < 0) throw new SchemaException($"{key} must be of an integer");
                    break;
                case "items":
                    if (v is ArrayValue ia) foreach (var i in ia.Span) CheckSchema(root, i, depth + 1);
                    else CheckSchema(root, v, depth + 1);
                    break;
                case "additionalProperties" or "additionalItems" or "not" or "contains" or "propertyNames" or "if" or "then" or "else":
                    CheckSchema(root, v, depth + 1);
                    break;
                case "allOf" or "anyOf" or "oneOf":
                    if (v is not ArrayValue { Count: > 0 } xa) throw new SchemaException($"{key} must be of an array with at least one element");
                    foreach (var s in xa.Span) CheckSchema(root, s, depth + 1);
                    break;
                case "$ref":
                    if (v is not StringValue rs) throw new SchemaException("Invalid type. Expected: string, given: $ref");
                    _ = Resolve(root, rs.Value);
                    break;
            }
        }
    }

    /// <summary>Resolves a local reference (<c>#</c> or <c>#/json/pointer</c>) against the root schema.</summary>
    private static Value Resolve(Value root, string reference)
    {
        if (!reference.StartsWith('#')) throw new SchemaException($"remote references are not supported: {reference}");
        var pointer = Uri.UnescapeDataString(reference[1..]);
        if (pointer.Length == 0) return root;
        if (!pointer.StartsWith('/')) throw new SchemaException($"invalid reference: {reference}");
        var cur = root;
        foreach (var raw in pointer[1..].Split('/'))
        {
            var seg = raw.Replace("~1", "/").Replace("~0", "~");
            cur = cur switch
            {
                ObjectValue o when o.TryGetValue(seg, out var next) => next,
                ArrayValue a when int.TryParse(seg, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw new SchemaException($"reference {reference} does not resolve"),
            };
        }
        return cur;
    }

    private static string GivenType(Value v) => v switch
    {
        NumberValue n => n.IsIntegral ? "integer" : "number",
        _ => v.TypeName,
    };

    /// <summary>Validates a document against a schema, collecting gojsonschema-style errors.</summary>
    private sealed class Validator(Value root, List<Value> errors)
    {
        private void Error(string type, string field, string desc)
            => errors.Add(ObjectValue.FromPairs(("desc", new StringValue(desc)), ("error", new StringValue($"{field}: {desc}")),
                ("field", new StringValue(field)), ("type", new StringValue(type))));

        private static string Child(string field, string key) => field == "(root)" ? key : field + "." + key;

        /// <summary>True when the document is valid (errors are collected only into a scratch list).</summary>
        private bool Passes(Value doc, Value schema, string field, int depth)
        {
            var scratch = new List<Value>();
            new Validator(root, scratch).Validate(doc, schema, field, depth);
            return scratch.Count == 0;
        }

        public void Validate(Value doc, Value schema, string field, int depth)
        {
            if (depth > MaxDepth) throw new SchemaException("schema or document nested too deeply (recursive $ref?)");
            if (schema is BooleanValue b)
            {
                if (!b.Value) Error("false", field, "False always fails validation");
                return;
            }
            if (schema is not ObjectValue s) return;
            if (s["$ref"] is StringValue r)
            {
                // In drafts 4 to 7, $ref replaces the other keywords of its schema.
                Validate(doc, Resolve(root, r.Value), field, depth + 1);
                return;
            }

            if (s["type"] is { } typeSpec)
            {
                var types = typeSpec is ArrayValue ta ? ta.Items.OfType<StringValue>().Select(t => t.Value).ToArray() : [((StringValue)typeSpec).Value];
                if (!types.Any(t => HasType(doc, t)))
                {
                    Error("invalid_type", field, $"Invalid type. Expected: {string.Join(", ", types)}, given: {GivenType(doc)}");
                    return;
                }
            }
            if (s["enum"] is ArrayValue en && !en.Items.Any(e => e.Equals(doc)))
                Error("enum", field, $"{field} must be one of the following: {string.Join(", ", en.Items.Select(GoJson.Marshal))}");
            if (s["const"] is { } c && !c.Equals(doc))
                Error("const", field, $"{field} does not match: {GoJson.Marshal(c)}");

            foreach (var (key, combinator) in new[] { ("allOf", 0), ("anyOf", 1), ("oneOf", 2) })
            {
                if (s[key] is not ArrayValue subs) continue;
                int passing = subs.Items.Count(x => Passes(doc, x, field, depth + 1));
                if (combinator == 0 && passing != subs.Count)
                {
                    foreach (var x in subs.Items) Validate(doc, x, field, depth + 1);
                    Error("number_all_of", field, "Must validate all the schemas (allOf)");
                }
                if (combinator == 1 && passing == 0) Error("number_any_of", field, "Must validate at least one schema (anyOf)");
                if (combinator == 2 && passing != 1) Error("number_one_of", field, "Must validate one and only one schema (oneOf)");
            }
            if (s["not"] is { } not && Passes(doc, not, field, depth + 1)) Error("number_not", field, "Must not validate the schema (not)");
            if (s["if"] is { } cond)
            {
                if (Passes(doc, cond, field, depth + 1))
                {
                    if (s["then"] is { } then && !Passes(doc, then, field, depth + 1))
                    {
                        Validate(doc, then, field, depth + 1);
                        Error("condition_then", field, "Must validate \"then\" as \"if\" was valid");
                    }
                }
                else if (s["else"] is { } otherwise && !Passes(doc, otherwise, field, depth + 1))
                {
                    Validate(doc, otherwise, field, depth + 1);
                    Error("condition_else", field, "Must validate \"else\" as \"if\" was not valid");
                }
            }

            switch (doc)
            {
                case NumberValue n: ValidateNumber(n, s, field); break;
                case StringValue str: ValidateString(str.Value, s, field); break;
                case ArrayValue a: ValidateArray(a, s, field, depth); break;
                case ObjectValue o: ValidateObject(o, s, field, depth); break;
            }
        }

        private static bool HasType(Value v, string type) => type switch
        {
            "integer" => v is NumberValue { IsIntegral: true },
            "number" => v is NumberValue,
            "string" => v is StringValue,
            "boolean" => v is BooleanValue,
            "null" => v is NullValue,
            "array" => v is ArrayValue,
            "object" => v is ObjectValue,
            _ => false,
        };

        private void ValidateNumber(NumberValue n, ObjectValue s, string field)
        {
            var x = n.ToDouble();
            if (s["multipleOf"] is NumberValue m)
            {
                var q = x / m.ToDouble();
                if (Math.Abs(q - Math.Round(q)) > 1e-9 * Math.Max(1, Math.Abs(q))) Error("multiple_of", field, $"Must be a multiple of {m.ToText()}");
            }
            // Draft 4 spells exclusive bounds as booleans next to minimum/maximum; drafts 6+ as numbers.
            if (s["minimum"] is NumberValue min)
            {
                bool exclusive = s["exclusiveMinimum"] is BooleanValue { Value: true };
                if (exclusive ? x <= min.ToDouble() : x < min.ToDouble())
                    Error(exclusive ? "number_gt" : "number_gte", field, exclusive ? $"Must be greater than {min.ToText()}" : $"Must be greater than or equal to {min.ToText()}");
            }
            if (s["exclusiveMinimum"] is NumberValue emin && x <= emin.ToDouble()) Error("number_gt", field, $"Must be greater than {emin.ToText()}");
            if (s["maximum"] is NumberValue max)
            {
                bool exclusive = s["exclusiveMaximum"] is BooleanValue { Value: true };
                if (exclusive ? x >= max.ToDouble() : x > max.ToDouble())
                    Error(exclusive ? "number_lt" : "number_lte", field, exclusive ? $"Must be less than {max.ToText()}" : $"Must be less than or equal to {max.ToText()}");
            }
            if (s["exclusiveMaximum"] is NumberValue emax && x >= emax.ToDouble()) Error("number_lt", field, $"Must be less than {emax.ToText()}");
        }

        private void ValidateString(string str, ObjectValue s, string field)
        {
            int length = str.EnumerateRunes().Count();
            if (s["minLength"] is NumberValue min && length < min.ToDouble()) Error("string_gte", field, $"String length must be greater than or equal to {min.ToText()}");
            if (s["maxLength"] is NumberValue max && length > max.ToDouble()) Error("string_lte", field, $"String length must be less than or equal to {max.ToText()}");
            if (s["pattern"] is StringValue p && GoRegex.TryGet(p.Value, out var re, out _) && !SafeMatch(re!, str))
                Error("pattern", field, $"Does not match pattern '{p.Value}'");
            if (s["format"] is StringValue f && !FormatOk(f.Value, str)) Error("format", field, $"Does not match format '{f.Value}'");
        }

        private static bool SafeMatch(Regex re, string s)
        {
            try { return re.IsMatch(s); }
            catch (RegexMatchTimeoutException) { return false; }
        }

        private static bool FormatOk(string format, string s) => format switch
        {
            "date-time" => TimeBuiltins.TryParseRfc3339Lenient(s),
            "email" => s.IndexOf('@') > 0 && s.IndexOf('@') < s.Length - 1,
            "ipv4" => NetBuiltins.TryParseIp(s, out _, out var bits) && bits == 32 && !s.Contains(':'),
            "ipv6" => s.Contains(':') && NetBuiltins.TryParseIp(s, out _, out _),
            "uuid" => UuidBuiltins.ParseBytes(s) is not null && s.Length == 36,
            "uri" => Uri.TryCreate(s, UriKind.Absolute, out _),
            "regex" => GoRegex.TryGet(s, out _, out _),
            _ => true, // unknown formats are annotations
        };

        private void ValidateArray(ArrayValue a, ObjectValue s, string field, int depth)
        {
            if (s["minItems"] is NumberValue min && a.Count < min.ToDouble()) Error("array_min_items", field, $"Array must have at least {min.ToText()} items");
            if (s["maxItems"] is NumberValue max && a.Count > max.ToDouble()) Error("array_max_items", field, $"Array must have at most {max.ToText()} items");
            if (s["uniqueItems"] is BooleanValue { Value: true })
            {
                for (int i = 0; i < a.Count; i++)
                    for (int j = i + 1; j < a.Count; j++)
                        if (a[i].Equals(a[j])) { Error("unique", field, $"array items[{i},{j}] must be unique"); i = a.Count; break; }
            }
            switch (s["items"])
            {
                case ArrayValue tuple:
                    for (int i = 0; i < Math.Min(tuple.Count, a.Count); i++) Validate(a[i], tuple[i], Child(field, i.ToString(CultureInfo.InvariantCulture)), depth + 1);
                    if (a.Count > tuple.Count)
                    {
                        if (s["additionalItems"] is BooleanValue { Value: false }) Error("array_no_additional_items", field, "No additional items allowed on array");
                        else if (s["additionalItems"] is ObjectValue extra)
                            for (int i = tuple.Count; i < a.Count; i++) Validate(a[i], extra, Child(field, i.ToString(CultureInfo.InvariantCulture)), depth + 1);
                    }
                    break;
                case { } each:
                    for (int i = 0; i < a.Count; i++) Validate(a[i], each, Child(field, i.ToString(CultureInfo.InvariantCulture)), depth + 1);
                    break;
            }
            if (s["contains"] is { } contains && !a.Items.Any(x => Passes(x, contains, field, depth + 1)))
                Error("contains", field, "At least one of the items must match");
        }

        private void ValidateObject(ObjectValue o, ObjectValue s, string field, int depth)
        {
            if (s["minProperties"] is NumberValue min && o.Count < min.ToDouble()) Error("array_min_properties", field, $"Must have at least {min.ToText()} properties");
            if (s["maxProperties"] is NumberValue max && o.Count > max.ToDouble()) Error("array_max_properties", field, $"Must have at most {max.ToText()} properties");
            if (s["required"] is ArrayValue req)
                foreach (var r in req.Items.OfType<StringValue>())
                    if (!o.ContainsKey(r)) Error("required", field, $"{r.Value} is required");
            var props = s["properties"] as ObjectValue;
            var patterns = s["patternProperties"] as ObjectValue;
            var additional = s["additionalProperties"];
            foreach (var kv in o.Entries)
            {
                var key = kv.Key is StringValue ks ? ks.Value : kv.Key.ToString();
                var childField = Child(field, key);
                bool matched = false;
                if (props is not null && props.TryGetValue(kv.Key, out var ps)) { matched = true; Validate(kv.Value, ps, childField, depth + 1); }
                if (patterns is not null)
                {
                    foreach (var pp in patterns.Entries)
                    {
                        if (pp.Key is StringValue pk && GoRegex.TryGet(pk.Value, out var re, out _) && SafeMatch(re!, key))
                        {
                            matched = true;
                            Validate(kv.Value, pp.Value, childField, depth + 1);
                        }
                    }
                }
                if (!matched && additional is not null)
                {
                    if (additional is BooleanValue { Value: false }) Error("additional_property_not_allowed", field, $"Additional property {key} is not allowed");
                    else if (additional is ObjectValue) Validate(kv.Value, additional, childField, depth + 1);
                }
                if (s["propertyNames"] is { } names && !Passes(new StringValue(key), names, childField, depth + 1))
                    Error("invalid_property_name", field, $"Property \"{key}\" does not match pattern");
            }
            if (s["dependencies"] is ObjectValue deps)
            {
                foreach (var d in deps.Entries)
                {
                    if (!o.ContainsKey(d.Key)) continue;
                    if (d.Value is ArrayValue needed)
                    {
                        foreach (var n in needed.Items)
                            if (!o.ContainsKey(n)) Error("missing_dependency", field, $"Has a dependency on {(n as StringValue)?.Value ?? n.ToString()}");
                    }
                    else Validate(o, d.Value, field, depth + 1);
                }
            }
        }
    }
}
