//! Host bindings generated from `wit/` — the single `bindgen!` of the host.
//! `http.send` and `connectors.call` are async so a slow request never blocks
//! an executor thread and is cancelled with the execution; `kv` and
//! `secrets` are async because the store behind them may be a database on
//! the network. Every import may trap (host bugs only).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "runbook",
    imports: {
        "wolfe:runbook/http.send": async | trappable,
        "wolfe:runbook/connectors.call": async | trappable,
        "wolfe:runbook/kv.get": async | trappable,
        "wolfe:runbook/kv.set": async | trappable,
        "wolfe:runbook/kv.delete": async | trappable,
        "wolfe:runbook/kv.compare-and-swap": async | trappable,
        "wolfe:runbook/kv.increment": async | trappable,
        "wolfe:runbook/secrets.get": async | trappable,
        "wolfe:runbook/events.emit": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});
