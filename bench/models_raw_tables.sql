-- The raw tables the dbt sources read, exactly as dlt 1.31's ducklake destination creates them
-- (copied from a real load of every vendor from the simulator; the check that they still match
-- is tests/warehouse/test_bench_raw_tables.py). bench/models.py fills the counter tables.
create table raw_ensembledata.comments (
    comment_id BIGINT, aweme_id BIGINT, text VARCHAR, create_time TIMESTAMPTZ, likes BIGINT,
    replies BIGINT, user_uid BIGINT, observed_on DATE, _dlt_load_id VARCHAR
);
create table raw_ensembledata.follows (
    uid BIGINT, relation VARCHAR, other_uid BIGINT, position BIGINT, observed_on DATE,
    deleted BOOLEAN, _dlt_load_id VARCHAR
);
create table raw_ensembledata.music (
    music_id BIGINT, title VARCHAR, author VARCHAR, observed_at TIMESTAMPTZ, _dlt_load_id VARCHAR
);
create table raw_ensembledata.music_stats (
    music_id BIGINT, observed_on DATE, posts BIGINT, _dlt_load_id VARCHAR
);
create table raw_ensembledata.search_hits (
    watch_key VARCHAR, observed_on DATE, aweme_id BIGINT, position BIGINT, endpoint VARCHAR,
    _dlt_load_id VARCHAR
);
create table raw_ensembledata.user_stats (
    uid BIGINT, observed_on DATE, observed_at TIMESTAMPTZ, followers BIGINT, followings BIGINT,
    videos BIGINT, likes BIGINT, region VARCHAR, signature VARCHAR, verified BOOLEAN,
    _dlt_load_id VARCHAR
);
create table raw_ensembledata.users (
    uid BIGINT, unique_id VARCHAR, sec_uid VARCHAR, nickname VARCHAR, observed_at TIMESTAMPTZ,
    _dlt_load_id VARCHAR
);
create table raw_ensembledata.video_hashtags (
    aweme_id BIGINT, position BIGINT, hashtag VARCHAR, deleted BOOLEAN, _dlt_load_id VARCHAR
);
create table raw_ensembledata.video_stats (
    aweme_id BIGINT, observed_on DATE, observed_at TIMESTAMPTZ, plays BIGINT, likes BIGINT,
    comments BIGINT, shares BIGINT, saves BIGINT, _dlt_load_id VARCHAR
);
create table raw_ensembledata.videos (
    aweme_id BIGINT, description VARCHAR, create_time TIMESTAMPTZ, region VARCHAR,
    duration_ms BIGINT, author_uid BIGINT, author_unique_id VARCHAR, music_id BIGINT,
    observed_at TIMESTAMPTZ, _dlt_load_id VARCHAR
);
create table raw_influtics.stats_points (
    video_id VARCHAR, external_video_id VARCHAR, tiktok_video_id BIGINT, metric VARCHAR,
    observed_at TIMESTAMPTZ, value BIGINT, observed_on DATE, _dlt_load_id VARCHAR
);
create table raw_influtics.stats_quarantine (
    video_id VARCHAR, external_video_id VARCHAR, tiktok_video_id BIGINT, metric VARCHAR,
    raw_timestamp VARCHAR, raw_value VARCHAR, reason VARCHAR, observed_on DATE,
    _dlt_load_id VARCHAR
);
create table raw_influtics.video_stats (
    video_id VARCHAR, external_video_id VARCHAR, tiktok_video_id BIGINT, platform VARCHAR,
    title VARCHAR, thumbnail_url VARCHAR, views BIGINT, likes BIGINT, comments BIGINT,
    reposts BIGINT, er DOUBLE, cpm DOUBLE, created_at TIMESTAMPTZ, stats_last_updated TIMESTAMPTZ,
    observed_on DATE, request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_keyapi.video_rankings_daily (
    ranking_date DATE, rank_type VARCHAR, region VARCHAR, rank_field VARCHAR,
    product_category_id VARCHAR, rank BIGINT, video_id BIGINT, user_id BIGINT, unique_id VARCHAR,
    nick_name VARCHAR, avatar VARCHAR, category VARCHAR, create_time TIMESTAMPTZ,
    created_by_ai BOOLEAN, duration BIGINT, reflow_cover VARCHAR, sales_flag BIGINT,
    total_comments_cnt BIGINT, total_digg_cnt BIGINT, total_favorites_cnt BIGINT,
    total_shares_cnt BIGINT, total_video_sale_cnt BIGINT, total_video_sale_gmv_amt BIGINT,
    total_views_cnt BIGINT, video_desc VARCHAR, product_category_list VARCHAR,
    video_products VARCHAR, request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_keyapi.video_rankings_monthly (
    ranking_date DATE, rank_type VARCHAR, region VARCHAR, rank_field VARCHAR,
    product_category_id VARCHAR, rank BIGINT, video_id BIGINT, user_id BIGINT, unique_id VARCHAR,
    nick_name VARCHAR, avatar VARCHAR, category VARCHAR, create_time TIMESTAMPTZ,
    created_by_ai BOOLEAN, duration BIGINT, reflow_cover VARCHAR, sales_flag BIGINT,
    total_comments_cnt BIGINT, total_digg_cnt BIGINT, total_favorites_cnt BIGINT,
    total_shares_cnt BIGINT, total_video_sale_cnt BIGINT, total_video_sale_gmv_amt BIGINT,
    total_views_cnt BIGINT, video_desc VARCHAR, product_category_list VARCHAR,
    video_products VARCHAR, request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_keyapi.video_rankings_weekly (
    ranking_date DATE, rank_type VARCHAR, region VARCHAR, rank_field VARCHAR,
    product_category_id VARCHAR, rank BIGINT, video_id BIGINT, user_id BIGINT, unique_id VARCHAR,
    nick_name VARCHAR, avatar VARCHAR, category VARCHAR, create_time TIMESTAMPTZ,
    created_by_ai BOOLEAN, duration BIGINT, reflow_cover VARCHAR, sales_flag BIGINT,
    total_comments_cnt BIGINT, total_digg_cnt BIGINT, total_favorites_cnt BIGINT,
    total_shares_cnt BIGINT, total_video_sale_cnt BIGINT, total_video_sale_gmv_amt BIGINT,
    total_views_cnt BIGINT, video_desc VARCHAR, product_category_list VARCHAR,
    video_products VARCHAR, request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_tiktok_research.videos (
    query_name VARCHAR, id BIGINT, create_time TIMESTAMPTZ, create_day DATE, username VARCHAR,
    region_code VARCHAR, video_description VARCHAR, voice_to_text VARCHAR, music_id BIGINT,
    like_count BIGINT, comment_count BIGINT, share_count BIGINT, view_count BIGINT,
    favorites_count BIGINT, playlist_id BIGINT, video_duration BIGINT, duration_type BIGINT,
    is_stem_verified BOOLEAN, effect_ids JSON, hashtag_names JSON, video_mention_list JSON,
    hashtag_info_list JSON, video_label JSON, pulled_at TIMESTAMPTZ, log_id VARCHAR,
    _dlt_load_id VARCHAR
);
create table raw_trendtrack.library_item_hashtags (
    item_id VARCHAR, position BIGINT, hashtag VARCHAR, observed_on DATE, observed_at TIMESTAMPTZ,
    deleted BOOLEAN, _dlt_load_id VARCHAR
);
create table raw_trendtrack.library_item_media (
    item_id VARCHAR, source VARCHAR, position BIGINT, media_type VARCHAR, url VARCHAR,
    media_order BIGINT, observed_on DATE, observed_at TIMESTAMPTZ, deleted BOOLEAN,
    _dlt_load_id VARCHAR
);
create table raw_trendtrack.library_item_metrics (
    item_id VARCHAR, observed_on DATE, tiktok_id BIGINT, observed_at TIMESTAMPTZ,
    indexed_at TIMESTAMPTZ, status VARCHAR, days_running BIGINT, views BIGINT, likes BIGINT,
    comments BIGINT, saves BIGINT, shares BIGINT, reposts BIGINT, engagement_rate DOUBLE,
    rank_percent DOUBLE, rank BIGINT, delta_rank_3d BIGINT, delta_rank_7d BIGINT,
    delta_rank_14d BIGINT, delta_rank_30d BIGINT, request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_trendtrack.library_items (
    id VARCHAR, tiktok_id BIGINT, type VARCHAR, status VARCHAR, is_pinned BOOLEAN,
    published_at TIMESTAMPTZ, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    indexed_at TIMESTAMPTZ, days_running BIGINT, description VARCHAR, language VARCHAR,
    category VARCHAR, music_id VARCHAR, music_title VARCHAR, music_author VARCHAR,
    media_type VARCHAR, thumbnail_url VARCHAR, media_url VARCHAR, video_url VARCHAR,
    duration_sec DOUBLE, media_count BIGINT, image_count BIGINT, views BIGINT, likes BIGINT,
    comments BIGINT, saves BIGINT, shares BIGINT, reposts BIGINT, engagement_rate DOUBLE,
    rank_percent DOUBLE, rank BIGINT, delta_rank_3d BIGINT, delta_rank_7d BIGINT,
    delta_rank_14d BIGINT, delta_rank_30d BIGINT, relevance_score DOUBLE, profile_id VARCHAR,
    shop_id VARCHAR, pin_is_current BOOLEAN, pin_first_pinned_at TIMESTAMPTZ,
    pin_last_pinned_at TIMESTAMPTZ, pin_last_unpinned_at TIMESTAMPTZ, tiktok_url VARCHAR,
    profile_url VARCHAR, source_network VARCHAR, source_type VARCHAR, source_tiktok_page_id VARCHAR,
    source_website_id VARCHAR, source_domain VARCHAR, observed_on DATE, observed_at TIMESTAMPTZ,
    request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_trendtrack.library_search_hits (
    watch_key VARCHAR, observed_on DATE, item_id VARCHAR, position BIGINT, endpoint VARCHAR,
    request_id VARCHAR, _dlt_load_id VARCHAR
);
create table raw_trendtrack.page_snapshots (
    profile_id VARCHAR, recorded_at TIMESTAMPTZ, ads_count BIGINT, organic_count BIGINT,
    total_tiktoks BIGINT, daily_views BIGINT, daily_likes BIGINT, daily_followers BIGINT,
    observed_on DATE, observed_at TIMESTAMPTZ, _dlt_load_id VARCHAR
);
create table raw_trendtrack.profiles (
    profile_id VARCHAR, handle VARCHAR, name VARCHAR, avatar_url VARCHAR, bio VARCHAR,
    bio_url VARCHAR, account_type VARCHAR, sec_uid VARCHAR, followers BIGINT, following BIGINT,
    total_tiktoks BIGINT, new_tiktoks BIGINT, views BIGINT, likes BIGINT, percent_ads DOUBLE,
    page_creation TIMESTAMPTZ, observed_on DATE, observed_at TIMESTAMPTZ, _dlt_load_id VARCHAR
);
create table raw_trendtrack.shops (
    shop_id VARCHAR, domain VARCHAR, name VARCHAR, logo_url VARCHAR, favicon_url VARCHAR,
    country_code VARCHAR, monthly_visits BIGINT, traffic_growth_30d DOUBLE, products_count BIGINT,
    google_category_ids VARCHAR, observed_on DATE, observed_at TIMESTAMPTZ, _dlt_load_id VARCHAR
);
