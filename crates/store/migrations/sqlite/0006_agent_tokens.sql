-- Desktop login tokens, so that a token issued by one instance is honoured by every
-- instance and across restarts (an agent's desktop follows its chats after a failover
-- without a new login). Only the SHA-256 digest of a token is kept (hex): the table
-- holds nothing that logs anyone in.
CREATE TABLE agent_tokens (
    digest     TEXT   NOT NULL PRIMARY KEY,
    login      TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Revoking every token of an agent (logout everywhere, new password, agent removed).
CREATE INDEX agent_tokens_login ON agent_tokens (login);
-- Forgetting expired tokens.
CREATE INDEX agent_tokens_expiry ON agent_tokens (expires_at);
