package dev.palimpsest.model;

/**
 * Named activation points inside each transformer layer, in the order a forward pass meets them.
 * Every activation is shaped [batch, tokens, width].
 */
public enum Site {
    /** The residual stream entering the layer. */
    RESID_PRE,
    /** The attention block's output, before it is added to the residual stream. */
    ATTN_OUT,
    /** The normalised input of the MLP (what the up/gate projections read). */
    MLP_IN,
    /** The MLP's hidden activation, the down-projection's input: the "keys" of locate-and-edit. */
    MLP_KEY,
    /** The down-projection's output, before it is added to the residual: the "values". */
    MLP_OUT,
    /** The residual stream leaving the layer. */
    RESID_POST;

    public String id(int layer) {
        return "layers." + layer + "." + name().toLowerCase();
    }
}
