//! Dynamic-membership rules in Entra ID's syntax (`user.department -eq "Sales"`): lexer →
//! parser → AST with spans → evaluator with explanations. Pure.
