//! Host bindings generated from `wit/` — the single `bindgen!` of the host.
//! `http.send` and `connectors.call` are async so a slow request never blocks
//! an executor thread and is cancelled with the execution; every import may
//! trap (host bugs only).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "runbook",
    imports: {
        "wolfe:runbook/http.send": async | trappable,
        "wolfe:runbook/connectors.call": async | trappable,
        default: trappable,
    },
    exports: { default: async },
});
