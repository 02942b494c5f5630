namespace PeerPatch.Node.Policy;

/// <summary>Shell-style globs: <c>*</c> any run of characters, <c>?</c> one character, everything else literal.</summary>
internal static class Glob
{
    public static bool Matches(string pattern, string text, bool ignoreCase)
    {
        // Iterative with one back-track point: linear in practice, no recursion for hostile patterns.
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || Same(pattern[p], text[t], ignoreCase)))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool Same(char a, char b, bool ignoreCase) => a == b || (ignoreCase && char.ToLowerInvariant(a) == char.ToLowerInvariant(b));
}
