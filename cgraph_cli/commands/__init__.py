"""The registry of commands: name -> "module:attribute", imported only when that command runs, so
`cgraph eval` never pays for what `cgraph graph` or `cgraph diff` import. Adding a command is one
module here and one line below."""

COMMANDS = {
    "eval": "cgraph_cli.commands.eval:command",
    "grad": "cgraph_cli.commands.grad:command",
    "check": "cgraph_cli.commands.check:command",
    "grade": "cgraph_cli.commands.grade:command",
    "gradcheck": "cgraph_cli.commands.gradcheck:command",
    "graph": "cgraph_cli.commands.graph:command",
    "minimize": "cgraph_cli.commands.minimize:command",
    "diff": "cgraph_cli.commands.diff:command",
    "hessian": "cgraph_cli.commands.hessian:command",
    "jacobian": "cgraph_cli.commands.jacobian:command",
    "functions": "cgraph_cli.commands.functions:command",
}
