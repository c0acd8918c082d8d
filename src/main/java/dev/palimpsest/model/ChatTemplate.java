package dev.palimpsest.model;

import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;

import dev.palimpsest.UserError;

/**
 * A model's own chat template (Hugging Face stores it as Jinja in {@code tokenizer_config.json} or
 * {@code chat_template.jinja}), executed as transformers' {@code apply_chat_template} does: Jinja with
 * trim_blocks and lstrip_blocks, {@code messages} (an optional system message, then the user's question),
 * {@code add_generation_prompt} true, {@code bos_token}, {@code eos_token}, {@code raise_exception(msg)} and
 * {@code strftime_now(fmt)}, and Python's str methods ({@link PyStringFilters}). A template that cannot be rendered,
 * or that raises, is one clear error.
 */
public final class ChatTemplate {
    /** The clock {@code strftime_now} reads (a template such as Llama 3.2's writes today's date). Tests fix it. */
    static Clock clock = Clock.systemDefaultZone();

    private static final Jinjava JINJA = engine();
    private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

    private final String template;
    private final String source;
    private final String bosText;
    private final String eosText;

    private ChatTemplate(String template, String source, String bosText, String eosText) {
        this.template = template;
        this.source = source;
        this.bosText = bosText == null ? "" : bosText;
        this.eosText = eosText == null ? "" : eosText;
    }

    /**
     * The template (null or blank: the model has none), where it came from (for errors), and the tokenizer's BOS
     * and EOS texts. Errors show when it is rendered, so a model whose template this engine cannot run still loads
     * and answers raw prompts.
     */
    public static ChatTemplate of(String template, String source, String bosText, String eosText) {
        boolean none = template == null || template.isBlank();
        return new ChatTemplate(none ? null : PyStringFilters.rewrite(whitespaceControlled(template)), source, bosText, eosText);
    }

    /** Whether the model has a chat template. */
    public boolean present() {
        return template != null;
    }

    /**
     * The prompt for one question (and an optional system message), ending with the assistant's cue. A BOS
     * text the template writes first is left to the tokenizer, which adds BOS as its config says, so the ids
     * hold one BOS as transformers' own tokenization of the rendered text does.
     */
    public String render(String system, String question) {
        if (template == null) throw new IllegalStateException("no chat template");
        List<Map<String, Object>> messages = new ArrayList<>();
        if (system != null) messages.add(message("system", system));
        messages.add(message("user", question));
        Map<String, Object> context = new HashMap<>();
        context.put("messages", messages);
        context.put("add_generation_prompt", true);
        context.put("bos_token", bosText);
        context.put("eos_token", eosText);
        // Functions are not variables to the engine; transformers passes them as variables, so `is defined` sees them.
        context.put("strftime_now", "strftime_now");
        context.put("raise_exception", "raise_exception");
        RAISED.remove();
        RenderResult r = JINJA.renderForResult(template, context);
        String raised = RAISED.get();
        RAISED.remove();
        if (raised != null) throw new UserError(source + ": the chat template refuses this conversation: " + raised);
        for (TemplateError e : r.getErrors())
            if (e.getSeverity() == TemplateError.ErrorType.FATAL)
                throw new UserError(source + ": the chat template cannot be rendered"
                        + (e.getLineno() > 0 ? " (line " + e.getLineno() + ")" : "") + ": " + e.getMessage());
        String out = r.getOutput();
        return !bosText.isEmpty() && out.startsWith(bosText) ? out.substring(bosText.length()) : out;
    }

    private static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    /**
     * Jinja's whitespace control ({@code {{-}}, {@code -}}} and the like) strips the template text next to the
     * tag; the engine honours it on block tags only, so it is applied to the source here, which is the same thing.
     */
    static String whitespaceControlled(String t) {
        return t.replaceAll("\\s*\\{([{%#])-", "{$1").replaceAll("-(%\\}|\\}\\}|#\\})\\s*", "$1");
    }

    private static Jinjava engine() {
        Jinjava j = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
        j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
        PyStringFilters.register(j);
        return j;
    }

    /** The template's {@code raise_exception}: remembered, and reported once rendering returns. */
    public static String raiseException(String message) {
        if (RAISED.get() == null) RAISED.set(message);
        return "";
    }

    private static final Pattern DIRECTIVE = Pattern.compile("%([a-zA-Z%])");

    /** The template's {@code strftime_now}: Python's strftime directives on the clock's now. */
    public static String strftimeNow(String format) {
        ZonedDateTime now = ZonedDateTime.now(clock);
        Matcher m = DIRECTIVE.matcher(format);
        StringBuilder b = new StringBuilder();
        while (m.find()) {
            String v = switch (m.group(1)) {
                case "d" -> String.format("%02d", now.getDayOfMonth());
                case "e" -> String.format("%2d", now.getDayOfMonth());
                case "m" -> String.format("%02d", now.getMonthValue());
                case "b" -> now.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case "B" -> now.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case "y" -> String.format("%02d", now.getYear() % 100);
                case "Y" -> Integer.toString(now.getYear());
                case "H" -> String.format("%02d", now.getHour());
                case "M" -> String.format("%02d", now.getMinute());
                case "S" -> String.format("%02d", now.getSecond());
                case "a" -> now.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case "A" -> now.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case "j" -> String.format("%03d", now.getDayOfYear());
                case "%" -> "%";
                default -> now.format(DateTimeFormatter.ISO_LOCAL_DATE);
            };
            m.appendReplacement(b, Matcher.quoteReplacement(v));
        }
        m.appendTail(b);
        return b.toString();
    }
}
