<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="no"/>
  <xsl:key name="by-sku" match="item" use="@sku"/>
  <xsl:key name="by-region" match="order" use="@region"/>
  <xsl:template match="/">
    <skus>
      <xsl:for-each select="//item[generate-id() = generate-id(key('by-sku', @sku)[1])]">
        <sku id="{@sku}" orders="{count(key('by-sku', @sku))}" qty="{sum(key('by-sku', @sku)/@qty)}"/>
      </xsl:for-each>
      <emea><xsl:value-of select="count(key('by-region','emea'))"/></emea>
    </skus>
  </xsl:template>
</xsl:stylesheet>
