// Pdp.Client: the PEP side of PolicyPoint (PdpClient, MCP SDK filter, McpGuard).
