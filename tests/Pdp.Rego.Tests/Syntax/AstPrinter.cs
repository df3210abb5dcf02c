using System.Text;
using Pdp.Rego.Syntax;
using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Syntax;

/// <summary>
/// Renders AST nodes as compact, fully explicit text so tests can assert shapes in one line: operators appear
/// as calls (<c>plus(1, mul(2, 3))</c>), refs as <c>head.x[term]</c>, strings quoted, rules as
/// <c>head :- body</c>.
/// </summary>
public static class AstPrinter
{
    public static string Show(Term t)
    {
        var sb = new StringBuilder();
        Write(sb, t);
        return sb.ToString();
    }

    public static string Show(Expr e)
    {
        var sb = new StringBuilder();
        Write(sb, e);
        return sb.ToString();
    }

    public static string Show(Body b)
    {
        var sb = new StringBuilder();
        Write(sb, b);
        return sb.ToString();
    }

    public static string Show(Rule r)
    {
        var sb = new StringBuilder();
        if (r.IsDefault) sb.Append("default ");
        WriteHead(sb, r.Head);
        sb.Append(" :- ");
        Write(sb, r.Body);
        if (r.Else is not null) sb.Append(" else ").Append(Show(r.Else));
        return sb.ToString();
    }

    private static void WriteHead(StringBuilder sb, RuleHead h)
    {
        Write(sb, h.Ref);
        if (h.Args is not null)
        {
            sb.Append('(');
            Join(sb, h.Args);
            sb.Append(')');
        }
        if (h.Key is not null)
        {
            sb.Append(" contains ");
            Write(sb, h.Key);
        }
        if (h.Value is not null)
        {
            sb.Append(h.Assign ? " := " : " = ");
            Write(sb, h.Value);
        }
    }

    private static void Write(StringBuilder sb, Body b)
    {
        for (int i = 0; i < b.Exprs.Count; i++)
        {
            if (i > 0) sb.Append("; ");
            Write(sb, b.Exprs[i]);
        }
    }

    private static void Write(StringBuilder sb, Expr e)
    {
        if (e.Negated) sb.Append("not ");
        switch (e)
        {
            case TermExpr t: Write(sb, t.Term); break;
            case UnifyExpr u: Write(sb, u.Left); sb.Append(" = "); Write(sb, u.Right); break;
            case AssignExpr a: Write(sb, a.Left); sb.Append(" := "); Write(sb, a.Right); break;
            case SomeDeclExpr s: sb.Append("some ").Append(string.Join(", ", s.Vars.Select(v => v.Name))); break;
            case SomeInExpr s:
                sb.Append("some ");
                if (s.Key is not null) { Write(sb, s.Key); sb.Append(", "); }
                Write(sb, s.Value);
                sb.Append(" in ");
                Write(sb, s.Collection);
                break;
            case EveryExpr ev:
                sb.Append("every ");
                if (ev.Key is not null) { Write(sb, ev.Key); sb.Append(", "); }
                Write(sb, ev.Value);
                sb.Append(" in ");
                Write(sb, ev.Collection);
                sb.Append(" { ");
                Write(sb, ev.Body);
                sb.Append(" }");
                break;
        }
        foreach (var w in e.With)
        {
            sb.Append(" with ");
            Write(sb, w.Target);
            sb.Append(" as ");
            Write(sb, w.Value);
        }
    }

    private static void Write(StringBuilder sb, Term t)
    {
        switch (t)
        {
            case ScalarTerm s:
                sb.Append(s.Value is StringValue ? s.Value.ToJson() : s.Value.ToString());
                break;
            case VarTerm v:
                sb.Append(v.Name);
                break;
            case RefTerm r:
                Write(sb, r.Head);
                foreach (var p in r.Path)
                {
                    if (p is ScalarTerm { Value: StringValue sv } && IsIdent(sv.Value)) sb.Append('.').Append(sv.Value);
                    else { sb.Append('['); Write(sb, p); sb.Append(']'); }
                }
                break;
            case CallTerm c:
                sb.Append(c.Name).Append('(');
                Join(sb, c.Args);
                sb.Append(')');
                break;
            case ArrayTerm a:
                sb.Append('[');
                Join(sb, a.Items);
                sb.Append(']');
                break;
            case SetTerm s:
                if (s.Items.Count == 0) { sb.Append("set()"); break; }
                sb.Append('{');
                Join(sb, s.Items);
                sb.Append('}');
                break;
            case ObjectTerm o:
                sb.Append('{');
                for (int i = 0; i < o.Items.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    Write(sb, o.Items[i].Key);
                    sb.Append(": ");
                    Write(sb, o.Items[i].Value);
                }
                sb.Append('}');
                break;
            case ArrayComprehensionTerm ac:
                sb.Append('[');
                Write(sb, ac.Head);
                sb.Append(" | ");
                Write(sb, ac.Body);
                sb.Append(']');
                break;
            case SetComprehensionTerm sc:
                sb.Append('{');
                Write(sb, sc.Head);
                sb.Append(" | ");
                Write(sb, sc.Body);
                sb.Append('}');
                break;
            case ObjectComprehensionTerm oc:
                sb.Append('{');
                Write(sb, oc.Key);
                sb.Append(": ");
                Write(sb, oc.Value);
                sb.Append(" | ");
                Write(sb, oc.Body);
                sb.Append('}');
                break;
            default:
                sb.Append('?');
                break;
        }
    }

    private static void Join(StringBuilder sb, IReadOnlyList<Term> items)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(", ");
            Write(sb, items[i]);
        }
    }

    private static bool IsIdent(string s) =>
        s.Length > 0 && (char.IsAsciiLetter(s[0]) || s[0] == '_') && s.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
