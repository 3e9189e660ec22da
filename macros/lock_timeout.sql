{#- The longest each statement of a node waits for a lock, set at the start of the node's own
    transaction (`set local`, so it holds through a transaction-mode pooler and ends with the
    transaction). `crm build` passes its `build.lock_timeout` setting as CRM_LOCK_TIMEOUT; a plain
    `dbt build` without it waits as long as PostgreSQL's own lock_timeout says. -#}
{% macro crm_lock_timeout() -%}
    {%- set timeout = env_var('CRM_LOCK_TIMEOUT', '') | trim -%}
    {%- if timeout -%}
        {%- if not modules.re.match('^[0-9]+ ?(ms|s|min|h)?$', timeout) -%}
            {{ exceptions.raise_compiler_error(
                "CRM_LOCK_TIMEOUT must be an interval such as 2min, 30s or 500ms, not '"
                ~ timeout ~ "'") }}
        {%- endif -%}
        set local lock_timeout = '{{ timeout }}'
    {%- endif -%}
{%- endmacro %}
