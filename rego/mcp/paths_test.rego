# path_malformed: relative paths, "." and ".." segments and "//" are refused; dots inside names are fine.
package policypoint.mcp_test

import data.policypoint.mcp

test_path_malformed_dot_segments if {
	every p in ["/a/../b", "/a/./b", "/a/..", "/a/.", "/..", "/.", "relative/x", "./x", "/a//b"] {
		mcp.path_malformed(p)
	}
}

test_path_not_malformed_dots_in_names if {
	every p in ["/a/..b/c", "/a/b..", "/a/.hidden", "/a/b.c", "/", "/a/...", "/tmp/policypoint-demo/workspace/notes.txt"] {
		not mcp.path_malformed(p)
	}
}
