namespace Pdp.Rego.Tests.Builtins;

/// <summary>json.verify_schema and json.match_schema.</summary>
public sealed class MoreJsonSchemaTests : MoreBuiltinTestBase
{
    private const string IdSchema = "{\"properties\": {\"id\": {\"type\": \"integer\"}}, \"required\": [\"id\"]}";

    [Test]
    public void ValidDocumentAsValueOrString()
    {
        Assert.That(Json("json.match_schema", "{\"id\": 5}", IdSchema), Is.EqualTo("[true,[]]"));
        Assert.That(Json("json.match_schema", Q("{\"id\": 5}"), Q(IdSchema)), Is.EqualTo("[true,[]]"));
    }

    [Test]
    public void InvalidDocumentListsGoStyleErrors()
        => Assert.That(Json("json.match_schema", "{\"id\": \"foo\"}", IdSchema),
            Is.EqualTo("[false,[{\"desc\":\"Invalid type. Expected: integer, given: string\",\"error\":\"id: Invalid type. Expected: integer, given: string\",\"field\":\"id\",\"type\":\"invalid_type\"}]]"));

    [Test]
    public void KeywordsAndReferences()
    {
        const string schema = "{\"type\": \"object\", \"required\": [\"c\"], \"additionalProperties\": false, \"properties\": {\"a\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/definitions/n\"}}}, \"definitions\": {\"n\": {\"type\": \"number\", \"minimum\": 2}}}";
        var result = Json("json.match_schema", "{\"a\": [1, \"x\", 3], \"b\": 3}", schema);
        Assert.That(result, Does.StartWith("[false,"));
        Assert.That(result, Does.Contain("\"type\":\"required\""));
        Assert.That(result, Does.Contain("\"field\":\"a.0\""));
        Assert.That(result, Does.Contain("\"error\":\"a.1: Invalid type. Expected: number, given: string\""));
        Assert.That(result, Does.Contain("Additional property b is not allowed"));
        Assert.That(result, Does.Not.Contain("a.2"));
    }

    [TestCase("{\"enum\": []}", "{\"value\": \"allow\"}", false)]
    [TestCase("{\"enum\": [1, \"a\"]}", "[\"a\"]", false)]
    [TestCase("{\"const\": {\"x\": 1}}", "{\"x\": 1}", true)]
    [TestCase("{\"type\": \"string\", \"pattern\": \"^mcp-[a-z]+$\"}", "[\"mcp-files\"]", false)] // a string document is JSON text: here the array is checked
    [TestCase("{\"type\": \"string\", \"maxLength\": 3}", "{\"a\": 1}", false)]
    [TestCase("{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}", "1.5", false)]
    [TestCase("{\"oneOf\": [{\"minimum\": 0}, {\"maximum\": 10}]}", "5", false)]
    [TestCase("{\"not\": {\"type\": \"null\"}}", "null", false)]
    [TestCase("{\"exclusiveMinimum\": 5}", "5", false)]
    [TestCase("{\"uniqueItems\": true}", "[1, 2, 1]", false)]
    [TestCase("{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 5}}", "12", false)]
    [TestCase("false", "1", false)]
    [TestCase("true", "1", true)]
    public void Keywords(string schema, string doc, bool valid)
        => Assert.That(Json("json.match_schema", doc, schema), Does.StartWith(valid ? "[true," : "[false,"));

    [Test]
    public void StringDocumentsAreJsonText()
    {
        Assert.That(Json("json.match_schema", Q("\"mcp-files\""), "{\"type\": \"string\", \"pattern\": \"^mcp-[a-z]+$\"}"), Is.EqualTo("[true,[]]"));
        Assert.That(Json("json.match_schema", Q("\"abcd\""), "{\"type\": \"string\", \"maxLength\": 3}"), Does.StartWith("[false,"));
        Assert.That(Fails("json.match_schema", Q("not json"), "{}").Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void InvalidSchema()
    {
        var e = Fails("json.match_schema", "{\"id\": \"foo\"}", "{\"properties\": {\"id\": {\"type\": \"unknown\"}}}");
        Assert.That(e.Message, Is.EqualTo("json.match_schema: has a primitive type that is NOT VALID -- given: /unknown/ Expected valid values are:[array boolean integer number null object string]"));
        Assert.That(Json("json.verify_schema", "{\"type\": \"string\"}"), Is.EqualTo("[true,null]"));
        Assert.That(Json("json.verify_schema", "{\"type\": \"strin\"}"), Does.StartWith("[false,\"has a primitive type that is NOT VALID"));
        Assert.That(Json("json.verify_schema", Q("{")), Does.StartWith("[false,"));
        Assert.That(Json("json.verify_schema", "{\"$ref\": \"http://example.com/s.json\"}"), Does.StartWith("[false,"));
    }

    [Test]
    public void RecursiveReferenceIsAnErrorNotACrash()
        => Assert.That(Fails("json.match_schema", "1", "{\"$ref\": \"#\"}").Code, Is.EqualTo("eval_builtin_error"));
}
